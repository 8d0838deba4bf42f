# One image for the three services: `imagescaler image-service`, `imagescaler api` or
# `imagescaler gateway` (the default). Build: docker build -t imagescaler:0.1.0 .
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY grpc_stubs ./grpc_stubs
COPY grpc_api ./grpc_api
COPY image_service ./image_service
COPY imagescaler ./imagescaler
COPY rest_gateway ./rest_gateway
COPY web ./web
# Every dependency ships wheels: no compiler is needed, and none reaches the final image.
RUN /opt/venv/bin/pip install --prefer-binary '.[s3]'

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    IMAGESCALER_IMAGE_LOG_FORMAT=json \
    IMAGESCALER_API_LOG_FORMAT=json \
    IMAGESCALER_GATEWAY_LOG_FORMAT=json
# /etc/imagescaler/jwt: where the manifests mount the gateway's key Secret (a read-only root
# cannot grow a mount point at run time outside Kubernetes).
RUN groupadd --system --gid 10001 imagescaler \
    && useradd --system --uid 10001 --gid imagescaler --no-create-home --shell /usr/sbin/nologin imagescaler \
    && mkdir -p /etc/imagescaler/jwt
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000 50051 50052 9101 9102 9103
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["imagescaler", "probe"]
ENTRYPOINT ["imagescaler"]
CMD ["gateway", "--listen", "0.0.0.0:8000"]
