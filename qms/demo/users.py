"""The demo users, one or two of every role, and the password they all sign in with."""

DEMO_PASSWORD = "demo-password"
DEMO_USERS = (
    ("admin@example.com", "Amina Admin", ("admin",)),
    ("manager@example.com", "Moses Manager", ("manager",)),
    ("quality@example.com", "Grace Quality", ("quality_officer",)),
    ("quality2@example.com", "Peter Quality", ("quality_officer",)),
    ("auditor@example.com", "Ali Auditor", ("internal_auditor",)),
    ("auditor2@example.com", "Sara Auditor", ("internal_auditor",)),
    ("owner@example.com", "Olivia Owner", ("process_owner",)),
    ("viewer@example.com", "Victor Viewer", ("viewer",)),
)
