"""Say what to do next."""

import os

folder = os.getcwd()
parent = os.path.dirname(folder)
name = "{{ cookiecutter.recipe_name }}"
print(f"""Created recipe {name} in {folder}

Next steps:
  export ZENPROVISION_RECIPES_PATH={parent}
  provision describe {name}
  provision plan {name} --stack t --offline
  python -m pytest {folder}/tests            # the conformance suite
{% if cookiecutter._cloud == "local" %}  provision recipe {name} --stack t --yes && provision destroy t --yes
{% else %}  provision recipe {name} --stack t --yes          # needs the Pulumi CLI and credentials
{% endif %}""")
