"""Sensors: Oracle readings to an Elasticsearch index, nightly in Europe/London days.

Modelled on etlhelper's "database to API" recipe, with its fixes: half-open
windows instead of BETWEEN, a deterministic document id, and _bulk uploads with
per-item retries and dead letters. Everything site-specific comes from the
environment (or Prefect Secret blocks); nothing secret is in this file:

    SENSORS_DB_HOST, SENSORS_DB_PORT (1521), SENSORS_DB_SERVICE, SENSORS_DB_USER
    SENSORS_DB_PASSWORD     the Oracle password
    SENSORS_ES_URL          e.g. https://search.example.org:9200
    SENSORS_ES_API_KEY      an Elasticsearch API key (sent as "ApiKey <key>")
"""

from datetime import date

from etlhelper import DbParams

from db2api.job import Env, Job, Row, Source, Target


def to_document(row: Row) -> dict:
    """One reading as the index stores it, with a GeoJSON point for map queries."""
    return {
        "sensor_id": row["SENSOR_ID"],
        "sensor_name": row["SENSOR_NAME"],
        "measured_at": row["MEASURED_AT"],
        "value": row["VALUE"],
        "unit": row["UNIT"],
        "location": {"type": "Point", "coordinates": [row["LONGITUDE"], row["LATITUDE"]]},
    }


job = Job(
    name="sensors",
    source=Source(
        db=DbParams(
            dbtype="ORACLE",
            host=Env("SENSORS_DB_HOST", help="Oracle host"),
            port=Env("SENSORS_DB_PORT", "1521"),
            dbname=Env("SENSORS_DB_SERVICE", help="Oracle service name"),
            user=Env("SENSORS_DB_USER", help="Oracle user"),
        ),
        password_env="SENSORS_DB_PASSWORD",
        # Oracle DATE columns hold local wall-clock time.
        timezone="Europe/London",
    ),
    sql="""
        SELECT r.reading_id, s.sensor_id, s.sensor_name, r.measured_at, r.value, r.unit,
               s.latitude, s.longitude
        FROM sensordata.readings r
        JOIN sensordata.sensors s ON s.sensor_id = r.sensor_id
        WHERE r.measured_at >= :start AND r.measured_at < :end
    """,
    id="READING_ID",
    transform=to_document,
    target=Target(
        url=Env("SENSORS_ES_URL", help="Elasticsearch URL"),
        index="sensors",
        mode="bulk",
        auth_env="SENSORS_ES_API_KEY",
        auth_scheme="ApiKey",
        bulk_docs=1000,
        bulk_bytes=5 * 1024 * 1024,
    ),
    window="1d",
    timezone="Europe/London",
    chunk_size=5000,
    concurrency=4,
    date_field="measured_at",
    first_start=date(2024, 1, 1),
)
