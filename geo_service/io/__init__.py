"""Files in and out: read any common vector format and CRS, validate, bulk-load; write exports."""
