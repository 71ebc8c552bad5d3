"""The tag stage: language identification and IPTC topics (`core.ArticleTagger`)."""
