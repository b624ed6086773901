"""Sphinx configuration of the recfactor documentation."""

import recfactor

project = "recfactor"
author = "recfactor developers"
release = recfactor.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples"]
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
html_theme = "pydata_sphinx_theme"

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("recfactor",),
    "backreferences_dir": "generated",
    "reference_url": {"recfactor": None},
}
