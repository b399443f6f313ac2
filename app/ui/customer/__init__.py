"""The customer-facing screen: one page per step, English and Spanish."""
