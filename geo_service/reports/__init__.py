"""Printable reports of a zone screening or an analysis: a static map, HTML and PDF."""
