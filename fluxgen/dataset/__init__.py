"""Dataset checks (lint), a cleaned copy (prepare) and a content hash (fingerprint)."""
