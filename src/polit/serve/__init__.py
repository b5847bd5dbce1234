"""`polit serve`: a read API over a warehouse that 4chan clients and FoolFuuka clients
already speak (see app.py)."""
