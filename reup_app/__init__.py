"""ReUp: B2B wholesale marketplace for the licensed cannabis trade."""
