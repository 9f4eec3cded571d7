"""Infrastructure and cross-service contracts shared by every service of the suite."""
