"""Reports and analysis (DESIGN §3.8): the daily after-sales report and the collaboration analysis."""
