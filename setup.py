"""Build hook: the wheel carries the root ``templates/`` and ``static/`` folders.

They stay at the top of the repository (the layout every contributor knows), outside the
``fieldapp`` package that setuptools packs. This ``build_py`` copies them into the built package
as ``fieldapp/web/templates`` and ``fieldapp/web/static``; :func:`fieldapp.locations.web_folders`
serves the checkout's folders when they are there and this packaged copy otherwise.
Everything else about the build is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: Root folders shipped inside the package, and where they land in it.
WEB_FOLDERS = {"templates": "fieldapp/web/templates", "static": "fieldapp/web/static"}


class build_py_with_web(build_py):  # noqa: N801 - setuptools' command naming
    """``build_py`` that also copies the root web folders into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install serves the checkout's folders
            return
        for source, target in WEB_FOLDERS.items():
            destination = Path(self.build_lib) / target
            shutil.rmtree(destination, ignore_errors=True)  # no stale file from an earlier build
            shutil.copytree(HERE / source, destination,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        for source, target in WEB_FOLDERS.items():
            outputs += [str(Path(self.build_lib) / target / path.relative_to(HERE / source))
                        for path in sorted((HERE / source).rglob("*")) if path.is_file()]
        return outputs


setup(cmdclass={"build_py": build_py_with_web})
