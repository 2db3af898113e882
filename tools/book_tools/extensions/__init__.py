"""The Sphinx extensions of the site, named by module in ``_config.yml``.

``site_fixes`` (meta descriptions, accessible markup, a doubled script),
``build_time_math`` (TeX to MathML when the site is built),
``icon_fonts`` (the theme's icon fonts cut to the glyphs in use),
``edition_banner`` (each edition's banner, linking the other) and
``deferred_scripts`` (head scripts load with ``defer``).
"""
