"""Communities: the villages and sectors of the protected forest."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.checks import in_range
from fieldapp.models import Base, SyncedMixin


class Community(SyncedMixin, Base):
    """A village or sector whose families sign agreements."""

    __tablename__ = "communities"
    __table_args__ = (
        CheckConstraint(in_range("lat", -90, 90), name="lat_range"),
        CheckConstraint(in_range("lon", -180, 180), name="lon_range"),
    )

    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    district: Mapped[str | None] = mapped_column(String(80))
    province: Mapped[str | None] = mapped_column(String(80))
    sector: Mapped[str | None] = mapped_column(String(80))
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    def __repr__(self) -> str:
        return f"<Community {self.code} {self.name}>"
