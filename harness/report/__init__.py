"""Reporting a run: the Allure 3 HTML report, the requirement matrix and run comparison.

Modules: ``catalogue`` (the numbered requirements, from docs/REQUIREMENTS.md),
``results`` (a run's Allure results read back: one `CaseResult` per case),
``matrix`` (requirement x verdict, as JSON and as one HTML page), ``compare``
(what changed between two runs), ``allure_html`` (the Allure 3 command line,
run offline, its page stripped of the tag-manager script).
"""
