"""What the Prefect UI shows of PDF.co work: artifacts and events (``artifacts``), and run logs (``logs``)."""
