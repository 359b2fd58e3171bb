# leo-alertd, leo-deliver and leo-enrich in a container: built on Debian 12,
# run on Debian 12 slim as an unprivileged user.  Both stages install exactly the packages listed in
# scripts/packages-{build,runtime}.txt (tests/ops/dockerfile_check.sh keeps
# it so), so the lists cannot drift from what the image has.
#
#   docker build -t leo-alertd .
#   docker run -e PGHOST=... -e PGDATABASE=... -p 9464:9464 leo-alertd
#   docker run -e PGHOST=... -e PGDATABASE=... -p 9465:9465 \
#       --entrypoint /usr/sbin/leo-deliver leo-alertd --config /etc/leo-alertd/leo-deliver.yaml
#   docker run -e PGHOST=... -e PGDATABASE=... -p 9466:9466 \
#       --entrypoint /usr/sbin/leo-enrich leo-alertd --config /etc/leo-alertd/leo-enrich.yaml
#
# The image's configs are the shipped config/*.yaml with the stats endpoints
# on 0.0.0.0 (9464, 9465, 9466); mount your own over /etc/leo-alertd/NAME.yaml.

FROM debian:bookworm-slim AS build
COPY scripts/packages-build.txt /tmp/packages-build.txt
RUN apt-get update \
	&& sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /tmp/packages-build.txt \
		| xargs apt-get install -y --no-install-recommends \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
		-DBUILD_TESTING=OFF \
	&& cmake --build /build -j"$(nproc)" \
	&& DESTDIR=/out cmake --install /build \
	&& sed -i 's/^  listen: "127.0.0.1:9464"$/  listen: "0.0.0.0:9464"/' \
		/out/etc/leo-alertd/leo-alertd.yaml \
	&& grep -q '^  listen: "0.0.0.0:9464"$' /out/etc/leo-alertd/leo-alertd.yaml \
	&& /out/usr/sbin/leo-alertd --check-config --config /out/etc/leo-alertd/leo-alertd.yaml \
	&& sed -i 's/^  listen: "127.0.0.1:9465"$/  listen: "0.0.0.0:9465"/' \
		/out/etc/leo-alertd/leo-deliver.yaml \
	&& grep -q '^  listen: "0.0.0.0:9465"$' /out/etc/leo-alertd/leo-deliver.yaml \
	&& /out/usr/sbin/leo-deliver --check-config --config /out/etc/leo-alertd/leo-deliver.yaml \
	&& sed -i 's/^  listen: "127.0.0.1:9466"$/  listen: "0.0.0.0:9466"/' \
		/out/etc/leo-alertd/leo-enrich.yaml \
	&& grep -q '^  listen: "0.0.0.0:9466"$' /out/etc/leo-alertd/leo-enrich.yaml \
	&& /out/usr/sbin/leo-enrich --check-config --config /out/etc/leo-alertd/leo-enrich.yaml

FROM debian:bookworm-slim
COPY scripts/packages-runtime.txt /tmp/packages-runtime.txt
RUN apt-get update \
	&& sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /tmp/packages-runtime.txt \
		| xargs apt-get install -y --no-install-recommends \
	&& rm -rf /var/lib/apt/lists/* /tmp/packages-runtime.txt \
	&& useradd --system --uid 10001 --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin leo-alertd
COPY --from=build /out/usr/sbin/leo-alertd /out/usr/sbin/leo-deliver /out/usr/sbin/leo-enrich \
	/usr/sbin/
COPY --from=build /out/usr/share/leo-alertd /usr/share/leo-alertd
COPY --from=build /out/etc/leo-alertd/leo-alertd.yaml /out/etc/leo-alertd/leo-deliver.yaml \
	/out/etc/leo-alertd/leo-enrich.yaml /etc/leo-alertd/
USER leo-alertd:leo-alertd
EXPOSE 9464 9465 9466
# SIGTERM: stop taking changes, flush every pending batch, exit 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
	CMD curl -fsS -o /dev/null http://127.0.0.1:9464/healthz || exit 1
ENTRYPOINT ["/usr/sbin/leo-alertd"]
CMD ["--config", "/etc/leo-alertd/leo-alertd.yaml"]
