"""Which packages the wheel holds; everything else about the project is in `pyproject.toml`.

The code is `app/`. The top-level `templates/` and `resources/` folders are shipped inside it as
the packages `app.templates` and `app.resources`, so an installed ReceiptDesk finds them with
`importlib.resources` exactly as a clone does (the editable install maps the same folders).
`pyproject.toml` cannot list found packages under another name, hence these few lines.
"""

from setuptools import find_namespace_packages, setup

DATA_PACKAGES = {"app.templates": "templates", "app.resources": "resources"}
SKIPPED = ["__pycache__", "*.__pycache__"]


def packages() -> list[str]:
    found = find_namespace_packages(include=["app", "app.*"], exclude=SKIPPED)
    for package, folder in DATA_PACKAGES.items():
        found.append(package)
        found += [f"{package}.{sub}" for sub in find_namespace_packages(where=folder, exclude=SKIPPED)]
    return found


setup(packages=packages(), package_dir=DATA_PACKAGES)
