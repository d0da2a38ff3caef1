"""Privacy (GDPR): consent per purpose, the privacy policy, and the data subject's rights — access (export),
rectification, erasure — plus the retention job and the rotation of the keys that seal personal data."""
