from polit.cli import app

app(prog_name="polit")
