"""Sphinx configuration of the mfbd documentation (build: see README.md, "Documentation")."""

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package from this tree, installed or not
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
# The notebooks' kernels and the `python -m mfbd` commands they run see the same tree and interpreter.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
os.environ["PATH"] = os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")])

import mfbd  # noqa: E402

project = "mfbd"
author = "mfbd developers"
copyright = "2026, mfbd developers"
release = version = mfbd.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served from _static: formulas render offline
    "sphinx.ext.viewcode",
    "myst_nb",
    "mfbd_docs",
]
source_suffix = {".md": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]

html_theme = "furo"
html_static_path = ["_static"]
html_css_files = ["mfbd.css"]
# MathJax from the copy sphinx-mathjax-offline puts in _static (never a CDN): formulas render offline.
mathjax_path = "mathjax/tex-chtml.js"
html_title = f"mfbd {release}"

# API reference: members follow each module's __all__; NamedTuple fields and
# dataclass fields are described in their class's "Attributes" section.
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_typehints_description_target = "documented"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

# MyST notebooks (text files): executed on every build; a failing cell fails the build.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 600
nb_execution_in_temp = True  # run directories land in a temporary folder, not in docs/
nb_merge_streams = True
