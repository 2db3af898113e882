"""The build of ``make site`` and its cache: ``python -m book_tools.build``.

- ``__main__``: stops at once when no input of the site changed (standard
  library only), else runs ``site.build_site``;
- ``chapters``: the toc's notebooks, read as myst-nb reads them;
- ``dependencies``: what each chapter imports or loads besides its code;
- ``head_start``: kernels started before the imports, for chapters whose
  code cells or recorded dependencies changed;
- ``execution``: re-executes, in parallel, only what changed, into the
  cache myst-nb reads;
- ``site``: runs jupyter-book and prunes the site;
- ``stale_pages``: the Sphinx extension that reads again the pages whose
  outputs changed under the same text.
"""
