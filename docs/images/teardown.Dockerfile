# The image of the teardown CronJob (recipe key teardown_home, see docs/schedules.md):
# zenprovision from the lock, the Pulumi CLI with the provider plugins of the cloud recipes,
# and the AWS CLI and gke-gcloud-auth-plugin that the stacks' kubeconfigs call. The build
# context is the repository root:
#   docker build --platform linux/amd64 -f docs/images/teardown.Dockerfile -t "$IMAGE" .
FROM python:3.12-slim

ARG PULUMI_VERSION=3.272.0
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PULUMI_SKIP_UPDATE_CHECK=true

RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gnupg unzip \
    && curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg \
    && echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" \
       > /etc/apt/sources.list.d/google-cloud-sdk.list \
    && apt-get update && apt-get install -y --no-install-recommends google-cloud-cli-gke-gcloud-auth-plugin \
    && curl -fsSL https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip -o /tmp/awscli.zip \
    && unzip -q /tmp/awscli.zip -d /tmp && /tmp/aws/install && rm -rf /tmp/aws /tmp/awscli.zip \
    && rm -rf /var/lib/apt/lists/*

# the Pulumi CLI, the same version as the Python SDK in uv.lock
RUN curl -fsSL https://get.pulumi.com | sh -s -- --version "$PULUMI_VERSION" --install-root /opt/pulumi-cli

# zenprovision and its cloud extras, exactly as locked
COPY . /src/zenprovision
RUN pip install uv==0.13.9 \
    && cd /src/zenprovision \
    && UV_PROJECT_ENVIRONMENT=/opt/zenprovision uv sync --locked --no-editable --extra aws --extra gcp \
    && rm -rf /src
ENV PATH=/opt/zenprovision/bin:/opt/pulumi-cli/bin:$PATH

# provider plugins matching the installed SDKs, baked in (the pod's root file system is read-only)
RUN for provider in aws gcp kubernetes; do \
      version=$(python -c "import importlib.metadata as m; print(m.version('pulumi_$provider'))"); \
      PULUMI_HOME=/opt/pulumi pulumi plugin install resource "$provider" "$version"; \
    done && chmod -R a+rX /opt/pulumi

COPY docs/images/teardown-entrypoint.sh /usr/local/bin/teardown-entrypoint
RUN useradd --uid 1000 --create-home teardown && chmod 0755 /usr/local/bin/teardown-entrypoint
USER 1000
ENTRYPOINT ["/usr/local/bin/teardown-entrypoint"]
CMD ["provision", "teardown", "--env", "dev", "--expired", "--yes"]
