"""Reports: the :class:`Report` document (one self-contained HTML file, optionally a PDF) and :func:`report`,
the standard report of any flow or map, rendered from a :class:`~ctrnn.analysis.Survey`, with the task sections of
a trained model (:func:`add_task_sections`)."""

from ._document import (Report, figure_data_uri, find_browser, headless_browser_command, model_settings,
                        print_to_pdf, short_value)
from ._standard import render, report
from ._task import add_task_sections
from ..mechanisms import check_task_model

__all__ = ["Report", "add_task_sections", "check_task_model", "find_browser", "print_to_pdf", "render", "report"]
