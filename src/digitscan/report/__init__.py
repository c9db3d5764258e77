"""The lab report: a training run -> HTML, Markdown or PDF a student hands in.

- ``facts``: what a run directory says (config, history, metrics, checksums, sample reads).
- ``sections``: the report's sections as blocks, in the lab template's order.
- ``blocks`` and ``render``: the blocks and their HTML and Markdown rendering.
- ``pdf``: HTML -> PDF through Chromium.
- ``writer``: ``write_report``, the entry point the command line calls.

The report reads runs and may use ``reading`` and ``training``; nothing imports it but the CLI.
"""
