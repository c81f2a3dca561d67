"""What servers ask of us: roots, sampling, elicitation (forms and URLs)."""
