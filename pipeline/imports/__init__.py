"""Imports of CSV and XLSX files from the CRM, the ERP and the budget sheet.

`formats` declares each kind's columns, `readers` streams rows out of a file, `parsing` turns cell
text into values, `kinds/` validates and writes each kind, and `engine.run_import` ties them
together: validate every row first, then write all or nothing. See docs/imports.md.
"""
