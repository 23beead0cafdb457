"""moto's state saved and loaded in process (unit test against the session's moto server over HTTP):
every kind of object the deployed stack holds comes back with the same ids, values and key material,
and the free-port check is not fooled by a stopped server's lingering connections."""

from __future__ import annotations

import socket

import pytest

from embedded_stack.moto_server import persistence, port_is_free


def test_saved_state_loads_back_with_the_same_resources_and_key_material(aws, deploy):
    kms, ssm, sqs, ddb = aws("kms"), aws("ssm"), aws("sqs"), aws("dynamodb")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]  # an RSA private key inside moto's key
    ciphertext = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    ssm.put_parameter(
        Name="/persist/p", Value="v1", Type="SecureString", KeyId=key_id
    )  # a defaultdict subclass
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="/persist/p", Tags=[{"Key": "k", "Value": "v"}]
    )
    queue = sqs.create_queue(QueueName="persist-q")["QueueUrl"]  # a Condition per queue
    sqs.send_message(QueueUrl=queue, MessageBody="kept")
    ddb.create_table(
        TableName="persist-t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.put_item(TableName="persist-t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    function = deploy({"handler.py": "def handler(e, c):\n    return 1\n"})  # weak-value dicts of ARNs
    code_sha = aws("lambda").get_function(FunctionName=function)["Configuration"]["CodeSha256"]

    blob = persistence.dump_state()
    ddb.put_item(TableName="persist-t", Item={"pk": {"S": "after"}})  # not in the saved state
    services = persistence.load_state(blob)

    assert {"kms", "ssm", "sqs", "dynamodb", "lambda", "iam"} <= set(services)
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"secret"
    assert ssm.get_parameter(Name="/persist/p", WithDecryption=True)["Parameter"]["Value"] == "v1"
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/persist/p")["TagList"]
    assert tags == [{"Key": "k", "Value": "v"}]
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "kept"
    items = ddb.scan(TableName="persist-t")["Items"]
    assert items == [{"pk": {"S": "a"}, "n": {"N": "1"}}]
    assert aws("lambda").get_function(FunctionName=function)["Configuration"]["CodeSha256"] == code_sha
    ddb.put_item(TableName="persist-t", Item={"pk": {"S": "b"}})  # restored tables still take writes
    assert ddb.describe_table(TableName="persist-t")["Table"]["ItemCount"] == 2


def test_an_object_that_cannot_be_carried_is_named(aws):
    from moto.backends import get_backend

    backend = get_backend("sqs")["123456789012"]["eu-west-1"]
    secret = 41
    backend.unpicklable = lambda: secret + 1  # a closure: its captured value cannot be pickled
    try:
        with pytest.raises(persistence.StateNotSaved, match="captured values"):
            persistence.dump_state()
    finally:
        del backend.unpicklable


def test_a_port_whose_stopped_server_left_time_wait_connections_is_free():
    """A restart must get its moto port back at once (SQS queue URLs in the saved state name it)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection lingers in TIME_WAIT
    client.recv(1)
    client.close()
    server.close()
    assert port_is_free(port)
