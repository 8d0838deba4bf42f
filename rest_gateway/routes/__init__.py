"""The REST routes, one router per resource; main.create_app assembles them."""
