"""Where the records a team shares live: a local folder, or a bucket prefix on S3 or GCS.

``location`` parses and checks a home's address; ``objects`` reads and writes whole
documents there, with the conditional writes that make locking across machines possible.
"""
