"""The demo program's people and places: the staff who log in, the communities, the families.

Users are added only when missing and all share the demo password; communities are spread
over the Alto Mayo's districts; families are drawn into communities of varying size, with a
unique DNI for most heads, a plot split into forest and coffee, and consent recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from fieldapp.auth.models import User
from fieldapp.communities.models import Community
from fieldapp.demo import names
from fieldapp.demo.base import DEMO_PASSWORD, DEMO_USERS, GeneratorBase, bulk
from fieldapp.extensions import db
from fieldapp.families.models import Family, search_text_for


class PeoplePhases(GeneratorBase):
    """The phases that create the demo users, the communities and their families."""

    def users(self) -> None:
        have = set(db.session.execute(select(User.username)).scalars())
        for username, full_name, role in DEMO_USERS:
            if username not in have:
                user = User(username=username, full_name=full_name, role=role, locale="es")
                user.set_password(DEMO_PASSWORD)
                db.session.add(user)
        self.staff = [u[1] for u in DEMO_USERS if u[2] == "field_staff"] + [DEMO_USERS[1][1]]
        db.session.flush()

    def communities(self) -> None:
        rng = self.rng
        n = max(1, round(25 * self.scale))
        self.community_rows = []
        existing = db.session.scalar(select(func.count(Community.id))) or 0
        for i in range(n):
            name = names.COMMUNITIES[i % len(names.COMMUNITIES)]
            if i >= len(names.COMMUNITIES):
                name = f"{name} {i // len(names.COMMUNITIES) + 1}"
            row = self.base(datetime(2024, 1, 10, tzinfo=UTC)) | {
                "code": f"C{existing + i + 1:03d}",
                "name": name,
                "district": rng.choice(names.DISTRICTS),
                "province": "Moyobamba" if rng.random() < 0.6 else "Rioja",
                "sector": rng.choice(["Alto Mayo", "Naranjillo", "Yuracyacu", "Soritor"]),
                "lat": round(-5.72 + rng.uniform(-0.2, 0.2), 5),
                "lon": round(-77.55 + rng.uniform(-0.25, 0.25), 5),
            }
            self.community_rows.append(row)
        bulk(Community, self.community_rows)
        self.count("communities", n)

    def families(self) -> None:
        rng = self.rng
        n = max(1, round(1033 * self.scale))
        # Community sizes vary (20 to 70 families), as they do on the ground.
        weights = [rng.uniform(0.5, 1.7) for _ in self.community_rows]
        self.family_rows = []
        used_dni: set[str] = set()
        for _ in range(n):
            community = rng.choices(self.community_rows, weights)[0]
            female = rng.random() < 0.35
            given = rng.choice(names.GIVEN_FEMALE if female else names.GIVEN_MALE)
            surname = f"{rng.choice(names.SURNAMES)} {rng.choice(names.SURNAMES)}"
            dni = None
            if rng.random() < 0.9:
                dni = f"{rng.randint(10_000_000, 79_999_999)}"
                while dni in used_dni:
                    dni = f"{rng.randint(10_000_000, 79_999_999)}"
                used_dni.add(dni)
            plot = round(rng.uniform(1.5, 12), 2)
            forest = round(plot * rng.uniform(0.2, 0.6), 2)
            coffee = round((plot - forest) * rng.uniform(0.4, 0.95), 2)
            created = datetime(2024, 2, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 600))
            row = self.base(created) | {
                "code": self.code(),
                "community_id": community["id"],
                "head_given_names": given,
                "head_surname": surname,
                "dni": dni,
                "members_count": rng.randint(1, 9),
                "phone": f"9{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.7 else None,
                "lat": round(community["lat"] + rng.uniform(-0.03, 0.03), 6),
                "lon": round(community["lon"] + rng.uniform(-0.03, 0.03), 6),
                "plot_name": rng.choice(["La Loma", "El Bajo", "Quebrada", "El Mirador", "Chacra"]),
                "plot_ha": plot,
                "forest_ha": forest,
                "coffee_ha": coffee,
                "data_consent": True,
                "consent_at": created,
                "status": "active",
                "notes": None,
            }
            row["search_text"] = search_text_for(row)
            self.family_rows.append(row)
        bulk(Family, self.family_rows)
        self.count("families", n)
