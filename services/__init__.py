"""newsflow: stream-processing news ingestion on Kafka."""

__version__ = "0.1.0"
