"""Discord-free services: the knowledge folder, web sources, question records, reports, backups."""
