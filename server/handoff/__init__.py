"""Human handoff (issue 25): a conversation held by a person of the business, then given back."""
