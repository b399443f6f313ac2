"""Receipt and update templates (Jinja2), shipped in the wheel as the package `app.templates`.

`app.rendering.environment` loads them through `app.support.package_data`; this file only makes
the folder a package, and the templates' version hash leaves it out.
"""
