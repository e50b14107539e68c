"""The monitor: security-news alerts from RSS/Atom feeds to Slack.

Data flows one way: config → schedule → fetch → parse → match → store → deliver.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
