"""Front-door pages. The customer's portal pages live in ``views_portal``."""
