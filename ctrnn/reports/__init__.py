"""Reports: the :class:`Report` document (one self-contained HTML file, optionally a PDF) and :func:`report`,
the standard report of any flow or map, rendered from a :class:`~ctrnn.analysis.Survey`."""

from ._document import (Report, figure_data_uri, find_browser, headless_browser_command, model_settings,
                        print_to_pdf, short_value)
from ._standard import render, report

__all__ = ["Report", "find_browser", "print_to_pdf", "render", "report"]
