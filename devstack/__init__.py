"""The local stack: real PostgreSQL, an AWS endpoint, the API, the function runner and a
mail catcher on 127.0.0.1. Used by ``make dev`` and by the tests above the unit tier."""
