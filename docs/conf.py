"""Sphinx configuration of the recfactor documentation."""

import recfactor

project = "recfactor"
author = "recfactor developers"
release = recfactor.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.autosummary",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
]

autosummary_generate = True

numpydoc_show_class_members = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples"]
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
html_theme = "pydata_sphinx_theme"
html_title = f"recfactor {release}"
html_theme_options = {"header_links_before_dropdown": 6}
nitpicky = True

# The build runs offline (CI reaches package registries only), so intersphinx cannot fetch
# the inventories of scikit-learn and Numba: the names these docs link to are written into
# local inventories, pointing at the projects' own pages.
_EXTERNAL_NAMES = {
    "sklearn": ("https://scikit-learn.org/stable/", {
        "py:class": ["sklearn.pipeline.Pipeline", "sklearn.exceptions.UndefinedMetricWarning",
                     "sklearn.model_selection.GridSearchCV", "sklearn.model_selection.KFold",
                     "sklearn.model_selection.PredefinedSplit",
                     "sklearn.feature_selection.SelectKBest"],
        "py:function": ["sklearn.pipeline.make_pipeline", "sklearn.model_selection.cross_validate",
                        "sklearn.model_selection.cross_val_score", "sklearn.metrics.ndcg_score",
                        "sklearn.utils.validation.validate_data"],
    }, "modules/generated/{name}.html"),
    "numba": ("https://numba.readthedocs.io/en/stable/", {
        "py:function": ["numba.njit"],
    }, "reference/jit-compilation.html#{name}"),
}


def _local_inventory(project, names, page):
    import tempfile
    import zlib
    from pathlib import Path

    lines = [f"{name} {role} 1 {page.format(name=name)} -"
             for role, role_names in names.items() for name in role_names]
    path = Path(tempfile.gettempdir()) / "recfactor-docs-inventories" / f"{project}.inv"
    path.parent.mkdir(exist_ok=True)
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: \n"
              "# The remainder of this file is compressed using zlib.\n")
    path.write_bytes(header.encode() + zlib.compress("\n".join(lines).encode() + b"\n"))
    return str(path)


intersphinx_mapping = {
    project: (url, _local_inventory(project, names, page))
    for project, (url, names, page) in _EXTERNAL_NAMES.items()
}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("recfactor",),
    "backreferences_dir": "generated",
    "reference_url": {"recfactor": None},
}


def _unlink_metric_names(app, doctree):
    """Turn docutils' standalone e-mail links back into text: "NDCG@10" is a metric."""
    from docutils import nodes

    for reference in list(doctree.findall(nodes.reference)):
        if reference.get("refuri", "").startswith("mailto:"):
            reference.replace_self(nodes.Text(reference.astext()))


def setup(app):
    app.connect("doctree-read", _unlink_metric_names)
