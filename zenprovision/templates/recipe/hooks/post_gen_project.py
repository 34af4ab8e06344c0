"""Say what to do next."""

import os

name = {{ cookiecutter.recipe_name | tojson }}
parent = {{ cookiecutter._recipes_dir | tojson }} or os.path.dirname(os.getcwd())  # provision new renders elsewhere first
folder = os.path.join(parent, name)
print(f"""Created recipe {name} in {folder}

Next steps:
  export ZENPROVISION_RECIPES_PATH={parent}
  provision describe {name}
  provision plan {name} --stack t --offline
  python -m pytest {folder}/tests            # the conformance suite
{% if cookiecutter._cloud == "local" %}  provision recipe {name} --stack t --yes && provision destroy t --yes
{% else %}  provision recipe {name} --stack t --yes          # needs the Pulumi CLI and credentials
{% endif %}""")
