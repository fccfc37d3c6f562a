"""Real HTTP answers from Elasticsearch, OpenSearch and proxies in front of them.

Every body below is quoted from a public source named in the comment above it: the
official documentation, the elastic/elasticsearch-specification examples, or a public
bug report. Bodies are quoted verbatim; where a source printed the JSON as a Ruby hash,
a Python dict or a JavaScript object (client logs), it is re-serialized as JSON with the
same keys and values, and `note` says so. Where a source quoted only one item of a
`_bulk` answer, the item is kept as an `*_ITEM` dict for `bulk_answer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json; charset=UTF-8"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(hash=False)
    body: bytes
    source: str
    note: str

    @property
    def is_json(self) -> bool:
        return "json" in self.headers.get("content-type", "").lower()


def _b(text: str) -> bytes:
    return text.encode("utf-8")


def _j(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def bulk_answer(item: dict[str, Any], count: int, took: int = 3) -> bytes:
    """A complete `_bulk` body that repeats one real item `count` times."""
    ((_action, inner),) = item.items()
    errors = int(inner["status"]) >= 300
    return _j({"took": took, "errors": errors, "items": [item] * count})


def bulk_echo(item: dict[str, Any], sent: list[tuple[str, str]], took: int = 3) -> bytes:
    """A complete `_bulk` body answering each (action, id) sent with one real item.

    A real server names in every item the action and the `_id` it was sent; only
    those two are taken from the request, the rest is the quoted item.
    """
    ((_action, inner),) = item.items()
    errors = int(inner["status"]) >= 300
    items = [{action: {**inner, "_id": doc_id}} for action, doc_id in sent]
    return _j({"took": took, "errors": errors, "items": items})


# ---------------------------------------------------------------------------
# _bulk: complete answers
# ---------------------------------------------------------------------------

# https://github.com/elastic/elasticsearch-specification
#   specification/_global/bulk/examples/response/BulkResponseExample1.yaml
#   (commit 9d9b9a521cc1070c1c9eb6c77d91c3a5fb09730d)
BULK_MIXED_OK_ES8 = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
   "took": 30,
   "errors": false,
   "items": [
      {
         "index": {
            "_index": "test",
            "_id": "1",
            "_version": 1,
            "result": "created",
            "_shards": {
               "total": 2,
               "successful": 1,
               "failed": 0
            },
            "status": 201,
            "_seq_no" : 0,
            "_primary_term": 1
         }
      },
      {
         "delete": {
            "_index": "test",
            "_id": "2",
            "_version": 1,
            "result": "not_found",
            "_shards": {
               "total": 2,
               "successful": 1,
               "failed": 0
            },
            "status": 404,
            "_seq_no" : 1,
            "_primary_term" : 2
         }
      },
      {
         "create": {
            "_index": "test",
            "_id": "3",
            "_version": 1,
            "result": "created",
            "_shards": {
               "total": 2,
               "successful": 1,
               "failed": 0
            },
            "status": 201,
            "_seq_no" : 2,
            "_primary_term" : 3
         }
      },
      {
         "update": {
            "_index": "test",
            "_id": "1",
            "_version": 2,
            "result": "updated",
            "_shards": {
                "total": 2,
                "successful": 1,
                "failed": 0
            },
            "status": 200,
            "_seq_no" : 3,
            "_primary_term" : 4
         }
      }
   ]
}"""),
    source="github.com/elastic/elasticsearch-specification "
    "specification/_global/bulk/examples/response/BulkResponseExample1.yaml",
    note="4 items: index 201, delete 404 (result not_found), create 201, update 200; "
    "errors false although one item is 404",
)

# The first item of BULK_MIXED_OK_ES8: an ES 8 `index` success with _shards/_seq_no.
INDEX_CREATED_ITEM_ES8: dict[str, Any] = json.loads(BULK_MIXED_OK_ES8.body)["items"][0]

# https://github.com/elastic/elasticsearch-specification
#   specification/_global/bulk/examples/response/BulkResponseExample2.yaml
BULK_DOCUMENT_MISSING_ES8 = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "took": 486,
  "errors": true,
  "items": [
    {
      "update": {
        "_index": "index1",
        "_id": "5",
        "status": 404,
        "error": {
          "type": "document_missing_exception",
          "reason": "[5]: document missing",
          "index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA",
          "shard": "0",
          "index": "index1"
        }
      }
    },
    {
      "update": {
        "_index": "index1",
        "_id": "6",
        "status": 404,
        "error": {
          "type": "document_missing_exception",
          "reason": "[6]: document missing",
          "index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA",
          "shard": "0",
          "index": "index1"
        }
      }
    },
    {
      "create": {
        "_index": "index1",
        "_id": "7",
        "_version": 1,
        "result": "created",
        "_shards": {
          "total": 2,
          "successful": 1,
          "failed": 0
        },
        "_seq_no": 0,
        "_primary_term": 1,
        "status": 201
      }
    }
  ]
}"""),
    source="github.com/elastic/elasticsearch-specification "
    "specification/_global/bulk/examples/response/BulkResponseExample2.yaml",
    note="3 items: update 404 document_missing_exception, update 404 "
    "document_missing_exception, create 201",
)

# https://docs.opensearch.org/latest/api-reference/document-apis/bulk/
#   (github.com/opensearch-project/documentation-website
#    _api-reference/document-apis/bulk.md, "Example response")
BULK_MIXED_OK_OPENSEARCH = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "took": 35,
  "errors": false,
  "items": [
    {
      "delete": {
        "_index": "movies",
        "_id": "tt2229499",
        "_version": 1,
        "result": "not_found",
        "_shards": {
          "total": 1,
          "successful": 1,
          "failed": 0
        },
        "_seq_no": 1,
        "_primary_term": 1,
        "status": 404
      }
    },
    {
      "index": {
        "_index": "movies",
        "_id": "tt1979320",
        "_version": 1,
        "result": "created",
        "_shards": {
          "total": 1,
          "successful": 1,
          "failed": 0
        },
        "_seq_no": 2,
        "_primary_term": 1,
        "status": 201
      }
    },
    {
      "create": {
        "_index": "movies",
        "_id": "tt1392214",
        "_version": 1,
        "result": "created",
        "_shards": {
          "total": 1,
          "successful": 1,
          "failed": 0
        },
        "_seq_no": 3,
        "_primary_term": 1,
        "status": 201
      }
    },
    {
      "update": {
        "_index": "movies",
        "_id": "tt0816711",
        "_version": 2,
        "result": "updated",
        "_shards": {
          "total": 1,
          "successful": 1,
          "failed": 0
        },
        "_seq_no": 4,
        "_primary_term": 1,
        "status": 200
      }
    }
  ]
}"""),
    source="https://docs.opensearch.org/latest/api-reference/document-apis/bulk/",
    note="4 items: delete 404 (result not_found), index 201, create 201, update 200; errors false",
)

# https://docs.opensearch.org/latest/api-reference/document-apis/bulk/
#   (second example response, "When operations fail")
BULK_DOCUMENT_MISSING_OPENSEARCH = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "took": 9,
  "errors": true,
  "items": [
    {
      "update": {
        "_index": "movies",
        "_id": "nonexistent1",
        "status": 404,
        "error": {
          "type": "document_missing_exception",
          "reason": "[nonexistent1]: document missing",
          "index": "movies",
          "shard": "0",
          "index_uuid": "UZdzhOjDQvGihxfS-m_UFA"
        }
      }
    }
  ]
}"""),
    source="https://docs.opensearch.org/latest/api-reference/document-apis/bulk/",
    note="1 item: update 404 document_missing_exception",
)

# https://github.com/seznam/elasticlient/issues/29 (Elasticsearch 7.17.0, data stream)
BULK_CREATE_VERSION_CONFLICT = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "took": 0,
  "errors": true,
  "items": [
    {
      "create": {
        "_index": ".ds-game-of-thrones-a-2022.04.06-000032",
        "_type": "_doc",
        "_id": "docId_c",
        "status": 409,
        "error": {
          "type": "version_conflict_engine_exception",
          "reason": "[docId_c]: version conflict, document already exists (current version [1])",
          "index_uuid": "1pbbHdwvQyKv55pxEqUjjg",
          "shard": "0",
          "index": ".ds-game-of-thrones-a-2022.04.06-000032"
        }
      }
    }
  ]
}"""),
    source="https://github.com/seznam/elasticlient/issues/29",
    note="1 item: create 409 version_conflict_engine_exception (document already exists); "
    "ES 7.17 shape with _type",
)
CREATE_VERSION_CONFLICT_ITEM: dict[str, Any] = json.loads(BULK_CREATE_VERSION_CONFLICT.body)[
    "items"
][0]

# https://github.com/anthonygauthier/jmeter-elasticsearch-backend-listener/issues/123
BULK_DATA_STREAM_INDEX_OP = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
    "took": 0,
    "ingest_took": 0,
    "errors": true,
    "items": [
        {
            "index": {
                "_index": "myindex",
                "_type": "_doc",
                "_id": null,
                "status": 400,
                "error": {
                    "type": "illegal_argument_exception",
                    "reason": "only write ops with an op_type of create are allowed in data streams"
                }
            }
        }
    ]
}"""),
    source="https://github.com/anthonygauthier/jmeter-elasticsearch-backend-listener/issues/123",
    note="1 item: index 400 illegal_argument_exception (data streams need op_type create); "
    "has ingest_took; _id null",
)
DATA_STREAM_INDEX_OP_ITEM: dict[str, Any] = json.loads(BULK_DATA_STREAM_INDEX_OP.body)["items"][0]

# https://github.com/vduseev/opensearch-logger/issues/7 (OpenSearch)
BULK_DATA_STREAM_INDEX_OP_OPENSEARCH = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "took": 0,
  "errors": true,
  "items": [
    {
      "index": {
        "_index": "org-logs-2023.10.15",
        "_id": null,
        "status": 400,
        "error": {
          "type": "illegal_argument_exception",
          "reason": "only write ops with an op_type of create are allowed in data streams"
        }
      }
    }
  ]
}"""),
    source="https://github.com/vduseev/opensearch-logger/issues/7",
    note="1 item: index 400 illegal_argument_exception (data streams need op_type create)",
)

# https://github.com/opensearch-project/OpenSearch/issues/17452
#   (cluster RED; the HTTP status line of this answer was `HTTP/1.1 200 OK`)
BULK_UNAVAILABLE_SHARDS_OPENSEARCH = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b(
        r"""{
  "took" : 60002,
  "errors" : true,
  "items" : [
    {
      "create" : {
        "_index" : "test-index",
        "_id" : "1",
        "status" : 503,
        "error" : {
          "type" : "unavailable_shards_exception",
          "reason" : "[test-index][4] primary shard is not active Timeout: [1m], request: """
        r"""[BulkShardRequest [[test-index][4]] containing [index {[test-index][1], source["""
        r"""{ \"field1\" : \"value1\", \"field2\" : \"value2\" }]}]]"
        }
      }
    }
  ]
}"""
    ),
    source="https://github.com/opensearch-project/OpenSearch/issues/17452",
    note="1 item: create 503 unavailable_shards_exception inside an HTTP 200 answer; "
    "took 60002 (the 1m shard timeout)",
)
UNAVAILABLE_SHARDS_ITEM: dict[str, Any] = json.loads(BULK_UNAVAILABLE_SHARDS_OPENSEARCH.body)[
    "items"
][0]

# ---------------------------------------------------------------------------
# _bulk: single real items (the sources quote no complete answer around them)
# ---------------------------------------------------------------------------

# https://github.com/fluent/fluent-bit/issues/1029 (first item of the quoted answer,
# which was `{"took":1,"errors":true,"items":[...` and is cut off in the issue)
REJECTED_EXECUTION_ITEM: dict[str, Any] = json.loads(
    """{"index":{"_index":"exp.aws.fra.fluent-bit-2019.01.15","_type":"_doc","""
    """"_id":"iRebUWgBzGyDXpgeUtPZ","status":429,"error":{"type":"es_rejected_execution_"""
    """exception","reason":"rejected execution of processing of [20324796][indices:data/"""
    """write/bulk[s][p]]: request: BulkShardRequest [[exp.aws.fra.fluent-bit-2019.01.15]"""
    """[0]] containing [2] requests, target allocation id: 2iKgftJ9TBqNNhLDYB-DUA, primary"""
    """ term: 1 on EsThreadPoolExecutor[name = instance-0000000007/write, queue capacity"""
    """ = 200, org.elasticsearch.common.util.concurrent.EsThreadPoolExecutor@3601e410"""
    """[Running, pool size = 2, active threads = 2, queued tasks = 472, completed tasks"""
    """ = 10627640]]"}}}"""
)

# https://github.com/legrego/homeassistant-elasticsearch/issues/63 (item printed as a
# Python dict by elasticsearch-py's BulkIndexError; re-serialized as JSON, the
# client-side "data" key dropped)
MAPPER_PARSING_ITEM: dict[str, Any] = {
    "index": {
        "_index": "hass-active-v3",
        "_type": "_doc",
        "_id": "-41ZC2wBLpP0xwShibSp",
        "status": 400,
        "error": {
            "type": "mapper_parsing_exception",
            "reason": "failed to parse field [hass.value] of type [long] in document with id "
            "'-41ZC2wBLpP0xwShibSp'",
            "caused_by": {
                "type": "illegal_argument_exception",
                "reason": 'For input string: "idle"',
            },
        },
    }
}

# https://github.com/logstash-plugins/logstash-output-elasticsearch/issues/584
# (Elasticsearch 5.6, action.auto_create_index restricted; item printed as a Ruby hash
# by Logstash, re-serialized as JSON. This version has no resource.type/resource.id.)
INDEX_NOT_FOUND_ITEM: dict[str, Any] = {
    "index": {
        "_index": "a",
        "_type": "logs",
        "_id": None,
        "status": 404,
        "error": {
            "type": "index_not_found_exception",
            "reason": "no such index and [action.auto_create_index] "
            "([.security,.monitoring*,.watches,.triggered_watches,.watcher-history*]) "
            "doesn't match",
            "index_uuid": "_na_",
            "index": "a",
        },
    }
}

# https://github.com/10up/ElasticPress/issues/3788 (first item; the quoted answer is
# cut off after the second item)
READ_ONLY_ALLOW_DELETE_ITEM_403: dict[str, Any] = json.loads(
    """{
      "index": {
        "_index": "fa-post-1",
        "_type": "post",
        "_id": "3753",
        "status": 403,
        "error": {
          "type": "cluster_block_exception",
          "reason": "blocked by: [FORBIDDEN/12/index read-only / allow delete (api)];"
        }
      }
    }"""
)

# https://github.com/rwynn/monstache/issues/610 (monstache logs the inner item object;
# the "index" action key around it is added here)
FLOOD_STAGE_ITEM_429: dict[str, Any] = {
    "index": json.loads(
        """{"_index":"mycollection","_type":"_doc","_id":"62569f8f21f1ebff3a1ee853","""
        """"status":429,"error":{"type":"cluster_block_exception","reason":"index """
        """[mycollection] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded """
        """flood-stage watermark, index has read-only-allow-delete block];"}}"""
    )
}

# https://github.com/racompton/tattle-tale/pull/3 (the `error` object of a bulk item,
# printed as a Ruby hash by Logstash; re-serialized as JSON. The item around it with
# its status is not quoted in the source.)
SECURITY_BULK_ITEM_ERROR: dict[str, Any] = {
    "type": "security_exception",
    "reason": "action [indices:data/write/bulk[s]] is unauthorized for user "
    "[logstash_internal] with roles [logstash_writer] on indices [netflow-2022.05.11], "
    "this action is granted by the index privileges "
    "[create_doc,create,delete,index,write,all]",
}

# https://github.com/infiniflow/ragflow/issues/5161 (the `error` object of a bulk item,
# printed as a Python dict; re-serialized as JSON. No status is quoted.)
INVALID_INDEX_NAME_ERROR: dict[str, Any] = {
    "type": "invalid_index_name_exception",
    "reason": "Invalid index name [ragflow_202502191057338-3I4IILh8-29267], must be lowercase",
    "index_uuid": "_na_",
    "index": "ragflow_202502191057338-3I4IILh8-29267",
}

# ---------------------------------------------------------------------------
# Whole-request failures
# ---------------------------------------------------------------------------

# https://github.com/elastic/elasticsearch/issues/2902 (comment by jasontedor, ES 6.0
# alpha with http.max_content_length=64m: `HTTP/1.1 413 Request Entity Too Large`,
# `content-length: 0`)
TOO_LARGE_413_EMPTY = Answer(
    status=413,
    headers={"content-length": "0"},
    body=b"",
    source="https://github.com/elastic/elasticsearch/issues/2902",
    note="Elasticsearch itself over http.max_content_length: 413, empty body",
)

# https://github.com/10up/ElasticPress/issues/979 (nginx proxy in front of AWS
# Elasticsearch, POST .../_bulk; headers and body as dumped in the issue)
TOO_LARGE_413_NGINX = Answer(
    status=413,
    headers={
        "server": "nginx/1.12.1",
        "content-type": "text/html",
        "content-length": "199",
        "connection": "close",
    },
    body=_b(
        "<html>\r\n"
        "<head><title>413 Request Entity Too Large</title></head>\r\n"
        '<body bgcolor="white">\r\n'
        "<center><h1>413 Request Entity Too Large</h1></center>\r\n"
        "<hr><center>nginx/1.12.1</center>\r\n"
        "</body>\r\n"
        "</html>\r\n"
    ),
    source="https://github.com/10up/ElasticPress/issues/979",
    note="nginx HTML page; the issue shows the lines without CR, nginx sends CRLF "
    "(199 bytes, matching the quoted Content-Length)",
)

# https://github.com/Philippus/elastic4s/issues/2923 (Elasticsearch 8.10.2, parent
# breaker limit lowered to 1b; status, headers and body as printed in the issue)
CIRCUIT_BREAKING_429 = Answer(
    status=429,
    headers={
        "x-elastic-product": "Elasticsearch",
        "content-type": "application/json",
        "content-length": "849",
    },
    body=_b(
        """{"error":{"root_cause":[{"type":"circuit_breaking_exception","reason":"[parent] """
        """Data too large, data for [<http_request>] would be [220036656/209.8mb], which is """
        """larger than the limit of [1/1b], real usage: [220036616/209.8mb], new bytes """
        """reserved: [40/40b], usages [model_inference=0/0b, eql_sequence=0/0b, """
        """fielddata=0/0b, request=0/0b, inflight_requests=40/40b]","bytes_wanted":220036656,"""
        """"bytes_limit":1,"durability":"TRANSIENT"}],"type":"circuit_breaking_exception","""
        """"reason":"[parent] Data too large, data for [<http_request>] would be """
        """[220036656/209.8mb], which is larger than the limit of [1/1b], real usage: """
        """[220036616/209.8mb], new bytes reserved: [40/40b], usages [model_inference=0/0b, """
        """eql_sequence=0/0b, fielddata=0/0b, request=0/0b, inflight_requests=40/40b]","""
        """"bytes_wanted":220036656,"bytes_limit":1,"durability":"TRANSIENT"},"status":429}"""
    ),
    source="https://github.com/Philippus/elastic4s/issues/2923",
    note="whole-request 429 circuit_breaking_exception, durability TRANSIENT",
)

# https://github.com/opensearch-project/OpenSearch/issues/12563 (AWS OpenSearch Service
# VPC endpoint, POST /_bulk?timeout=1m, `HTTP/1.1 502 Bad Gateway`)
BAD_GATEWAY_502_AWS = Answer(
    status=502,
    headers={"content-type": "text/html"},
    body=_b(
        "<html>\n"
        "<head><title>502 Bad Gateway</title></head>\n"
        "<body>\n"
        "<center><h1>502 Bad Gateway</h1></center>\n"
        "</body>\n"
        "</html>\n"
    ),
    source="https://github.com/opensearch-project/OpenSearch/issues/12563",
    note="HTML 502 from the AWS OpenSearch Service endpoint in front of the cluster; "
    "content-type not quoted in the source",
)

# https://github.com/opendistro-for-elasticsearch/sample-code/issues/160
MASTER_NOT_DISCOVERED_503 = Answer(
    status=503,
    headers={"content-type": JSON},
    body=_b(
        """{"error":{"root_cause":[{"type":"master_not_discovered_exception","reason":null}],"""
        """"type":"master_not_discovered_exception","reason":null},"status":503}"""
    ),
    source="https://github.com/opendistro-for-elasticsearch/sample-code/issues/160",
    note="whole-request 503 master_not_discovered_exception (no elected master)",
)

# https://github.com/BroadSoft-Xtended/BroadWorks-Dashboards-and-Discovery/issues/30
# (POST /_bulk, `HTTP/1.1 401 Unauthorized`; the WWW-Authenticate header is the value
# the body echoes under "header")
UNAUTHENTICATED_401 = Answer(
    status=401,
    headers={
        "content-type": JSON,
        "www-authenticate": 'Basic realm="security" charset="UTF-8"',
    },
    body=_b(
        """{"error":{"root_cause":[{"type":"security_exception","reason":"missing """
        """authentication token for REST request [/_bulk]","header":{"WWW-Authenticate":"""
        """"Basic realm=\\"security\\" charset=\\"UTF-8\\""}}],"type":"security_exception","""
        """"reason":"missing authentication token for REST request [/_bulk]","header":"""
        """{"WWW-Authenticate":"Basic realm=\\"security\\" charset=\\"UTF-8\\""}},"""
        """"status":401}"""
    ),
    source="https://github.com/BroadSoft-Xtended/BroadWorks-Dashboards-and-Discovery/issues/30",
    note="whole-request 401 security_exception; ES 5.x/6.x wording 'missing authentication "
    "token' (later versions say 'missing authentication credentials')",
)

# https://github.com/elastic/logstash/issues/16135 (Elastic Agent log line
# "failed to perform any bulk index operations: 403 Forbidden: {...}"; JSON unescaped)
FORBIDDEN_BULK_403 = Answer(
    status=403,
    headers={"content-type": JSON},
    body=_b(
        """{"error":{"root_cause":[{"type":"security_exception","reason":"action """
        """[indices:data/write/bulk] is unauthorized for user [logstash_collector] with """
        """effective roles [remote_monitoring_collector] (assigned roles """
        """[create,create_doc,delete,index,write] were not found), this action is granted """
        """by the index privileges [create_doc,create,delete,index,write,all]"}],"""
        """"type":"security_exception","reason":"action [indices:data/write/bulk] is """
        """unauthorized for user [logstash_collector] with effective roles """
        """[remote_monitoring_collector] (assigned roles [create,create_doc,delete,index,"""
        """write] were not found), this action is granted by the index privileges """
        """[create_doc,create,delete,index,write,all]"},"status":403}"""
    ),
    source="https://github.com/elastic/logstash/issues/16135",
    note="whole-request 403 security_exception for indices:data/write/bulk",
)

# https://github.com/elastic/elasticsearch/issues/28123 (Elasticsearch 6.1.1, POST /_bulk
# with `Content-Type: application/x-ndjson;charset=UTF-8`; body as printed by curl. The
# response headers are not quoted: Elasticsearch's JSON content type is assumed.)
CONTENT_TYPE_406_ES6 = Answer(
    status=406,
    headers={"content-type": JSON},
    body=_b(
        """{"error":"Content-Type header [application/x-ndjson; charset=UTF-8] is not """
        """supported","status":406}"""
    ),
    source="https://github.com/elastic/elasticsearch/issues/28123",
    note="whole-request 406 for the Content-Type; Elasticsearch 6 gives `error` as a bare string",
)

# https://github.com/elastic/elasticsearch-ruby/issues/2665 (Elasticsearch 9.0.0, a 9.x
# client's `Accept: ...compatible-with=9` beside a plain `Content-Type: application/json`;
# the body as printed by elastic-transport after `[400] `)
MEDIA_TYPE_HEADER_400_ES9 = Answer(
    status=400,
    headers={"content-type": JSON},
    body=_b(
        """{"error":{"root_cause":[{"type":"media_type_header_exception","reason":"Invalid """
        """media-type value on headers [Accept, Content-Type]"}],"type":"media_type_header_"""
        """exception","reason":"Invalid media-type value on headers [Accept, Content-Type]","""
        """"caused_by":{"type":"status_exception","reason":"A compatible version is required """
        """on both Content-Type and Accept headers if either one has requested a compatible """
        """version. Accept=application/vnd.elasticsearch+json; compatible-with=9, """
        """Content-Type=application/json"}},"status":400}"""
    ),
    source="https://github.com/elastic/elasticsearch-ruby/issues/2665",
    note="whole-request 400 media_type_header_exception: the Accept and Content-Type headers "
    "disagree",
)

# https://github.com/atomita/fluent-plugin-aws-elasticsearch-service/issues/17 (AWS
# Elasticsearch Service 2.3, fluentd's _bulk; the body is quoted inside a Ruby error string,
# `[400] {\"error\":...}`, and unescaped here)
PARSE_EXCEPTION_400 = Answer(
    status=400,
    headers={"content-type": JSON},
    body=_b(
        """{"error":{"root_cause":[{"type":"parse_exception","reason":"Failed to derive """
        """xcontent"}],"type":"parse_exception","reason":"Failed to derive xcontent"},"""
        """"status":400}"""
    ),
    source="https://github.com/atomita/fluent-plugin-aws-elasticsearch-service/issues/17",
    note="whole-request 400 parse_exception: the server could not tell what the body is",
)

# https://github.com/elastic/elasticsearch/issues/21804 (Elasticsearch 5.0.1,
# POST /_bulk?consistency=one; the pretty-printed body as quoted)
UNRECOGNIZED_PARAMETER_400 = Answer(
    status=400,
    headers={"content-type": JSON},
    body=_b("""{
  "error": {
    "root_cause": [
      {
        "type": "illegal_argument_exception",
        "reason": "request [/_bulk] contains unrecognized parameter: [consistency]"
      }
    ],
    "type": "illegal_argument_exception",
    "reason": "request [/_bulk] contains unrecognized parameter: [consistency]"
  },
  "status": 400
}"""),
    source="https://github.com/elastic/elasticsearch/issues/21804",
    note="whole-request 400 illegal_argument_exception about a URL parameter",
)

# ---------------------------------------------------------------------------
# Other endpoints
# ---------------------------------------------------------------------------

# https://github.com/elastic/elasticsearch-specification
#   specification/_global/count/examples/200_response/CountResponseExample1.yaml
COUNT_ES = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "count": 1,
  "_shards": {
    "total": 1,
    "successful": 1,
    "skipped": 0,
    "failed": 0
  }
}"""),
    source="github.com/elastic/elasticsearch-specification "
    "specification/_global/count/examples/200_response/CountResponseExample1.yaml",
    note="GET /my-index-000001/_count?q=user:kimchy",
)

# https://docs.opensearch.org/latest/api-reference/document-apis/multi-get/
#   (github.com/opensearch-project/documentation-website
#    _api-reference/document-apis/multi-get.md, "Response for retrieving documents from
#    multiple indexes")
MGET_FOUND_OPENSEARCH = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "docs": [
    {
      "_index": "books",
      "_id": "1",
      "_version": 2,
      "_seq_no": 2,
      "_primary_term": 3,
      "found": true,
      "_source": {
        "title": "The Great Gatsby",
        "author": "F. Scott Fitzgerald",
        "year": 1925,
        "genre": "Fiction",
        "pages": 180
      }
    },
    {
      "_index": "articles",
      "_id": "1",
      "_version": 1,
      "_seq_no": 0,
      "_primary_term": 1,
      "found": true,
      "_source": {
        "title": "Introduction to OpenSearch",
        "author": "Jane Smith",
        "published": "2024-01-15",
        "category": "Technology",
        "views": 1500
      }
    }
  ]
}"""),
    source="https://docs.opensearch.org/latest/api-reference/document-apis/multi-get/",
    note="2 docs, both found",
)

# https://github.com/inspirehep/inspire-next/pull/2955 (review comment by david-caro:
# one `docs` entry of an _mget answer for a missing id, printed as a Python dict;
# re-serialized as JSON)
MGET_NOT_FOUND_DOC: dict[str, Any] = {
    "_id": "7f6bd778-c2f8-4ddf-a98d-34db4024544c",
    "_index": "records-hep",
    "_type": "hep",
    "found": False,
}

# https://github.com/elastic/elasticsearch-specification
#   specification/_global/info/examples/response/RootNodeInfoResponseExample1.yaml
#   at commit ce298fca07f4b12c825272396fc5fa30978c1772 (YAML value as JSON, same order)
INFO_ES8 = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "name": "instance-0000000000",
  "cluster_name": "my_test_cluster",
  "cluster_uuid": "5QaxoN0pRZuOmWSxstBBwQ",
  "version": {
    "build_date": "2024-02-01T13:07:13.727175297Z",
    "minimum_wire_compatibility_version": "7.17.0",
    "build_hash": "6185ba65d27469afabc9bc951cded6c17c21e3f3",
    "number": "8.12.1",
    "lucene_version": "9.9.2",
    "minimum_index_compatibility_version": "7.0.0",
    "build_flavor": "default",
    "build_snapshot": false,
    "build_type": "docker"
  },
  "tagline": "You Know, for Search"
}"""),
    source="github.com/elastic/elasticsearch-specification"
    "@ce298fca07f4b12c825272396fc5fa30978c1772 "
    "specification/_global/info/examples/response/RootNodeInfoResponseExample1.yaml",
    note="GET / on Elasticsearch 8.12.1",
)

# https://docs.opensearch.org/latest/security/getting-started/
#   (github.com/opensearch-project/documentation-website _security/getting-started.md)
INFO_OPENSEARCH2 = Answer(
    status=200,
    headers={"content-type": JSON},
    body=_b("""{
  "name" : "smoketestnode",
  "cluster_name" : "opensearch",
  "cluster_uuid" : "0a5DYAk0Rbi14wqT3TqMiQ",
  "version" : {
    "distribution" : "opensearch",
    "number" : "2.13.0",
    "build_type" : "tar",
    "build_hash" : "7ec678d1b7c87d6e779fdef94e33623e1f1e2647",
    "build_date" : "2024-03-26T00:04:51.025238748Z",
    "build_snapshot" : false,
    "lucene_version" : "9.10.0",
    "minimum_wire_compatibility_version" : "7.10.0",
    "minimum_index_compatibility_version" : "7.0.0"
  },
  "tagline" : "The OpenSearch Project: https://opensearch.org/"
}"""),
    source="https://docs.opensearch.org/latest/security/getting-started/",
    note="GET / on OpenSearch 2.13.0 (version.distribution is opensearch)",
)

ANSWERS: dict[str, Answer] = {
    name: value for name, value in dict(globals()).items() if isinstance(value, Answer)
}

ITEMS: dict[str, dict[str, Any]] = {
    "INDEX_CREATED_ITEM_ES8": INDEX_CREATED_ITEM_ES8,
    "CREATE_VERSION_CONFLICT_ITEM": CREATE_VERSION_CONFLICT_ITEM,
    "DATA_STREAM_INDEX_OP_ITEM": DATA_STREAM_INDEX_OP_ITEM,
    "UNAVAILABLE_SHARDS_ITEM": UNAVAILABLE_SHARDS_ITEM,
    "REJECTED_EXECUTION_ITEM": REJECTED_EXECUTION_ITEM,
    "MAPPER_PARSING_ITEM": MAPPER_PARSING_ITEM,
    "INDEX_NOT_FOUND_ITEM": INDEX_NOT_FOUND_ITEM,
    "READ_ONLY_ALLOW_DELETE_ITEM_403": READ_ONLY_ALLOW_DELETE_ITEM_403,
    "FLOOD_STAGE_ITEM_429": FLOOD_STAGE_ITEM_429,
}
