"""Staff define the custom fields their organization keeps on customers and mark those portal
contacts may edit."""

from models.customers import Customer, CustomFieldDefinition
from tests.conftest import World, gql


async def test_staff_define_rename_and_delete_custom_fields(client, world: World) -> None:
    token = world.tokens["staff"]
    create = """mutation($name: String!) { defineCustomField(input: {name: $name,
      editableInPortal: true}) { customFieldDefinition { id name editableInPortal }
      errors { field code } } }"""
    body = await gql(client, create, {"name": " VAT id "}, token=token)
    created = body["data"]["defineCustomField"]
    assert created["customFieldDefinition"]["name"] == "VAT id"
    duplicate = await gql(client, create, {"name": "vat ID"}, token=token)
    assert duplicate["data"]["defineCustomField"]["errors"] == [
        {"field": ["name"], "code": "DUPLICATE"}
    ]
    blank = await gql(client, create, {"name": "  "}, token=token)
    assert blank["data"]["defineCustomField"]["errors"] == [{"field": ["name"], "code": "REQUIRED"}]
    other = await gql(client, create, {"name": "Tax number"}, token=token)
    definition_id = created["customFieldDefinition"]["id"]
    rename = """mutation($id: ID!, $name: String) { updateCustomFieldDefinition(input:
      {id: $id, name: $name}) { customFieldDefinition { name } errors { field code } } }"""
    taken = await gql(client, rename, {"id": definition_id, "name": "TAX NUMBER"}, token=token)
    assert taken["data"]["updateCustomFieldDefinition"]["errors"][0]["code"] == "DUPLICATE"
    renamed = await gql(client, rename, {"id": definition_id, "name": "VAT ID"}, token=token)
    assert renamed["data"]["updateCustomFieldDefinition"]["customFieldDefinition"] == {
        "name": "VAT ID"
    }
    delete = """mutation($id: ID!) { deleteCustomFieldDefinition(input: {id: $id}) {
      deletedId errors { code } } }"""
    body = await gql(client, delete, {"id": definition_id}, token=token)
    assert body["data"]["deleteCustomFieldDefinition"] == {"deletedId": definition_id, "errors": []}
    again = await gql(client, delete, {"id": definition_id}, token=token)
    assert again["data"]["deleteCustomFieldDefinition"]["errors"] == [{"code": "NOT_FOUND"}]
    # Another organization's staff cannot touch it.
    tax_id = other["data"]["defineCustomField"]["customFieldDefinition"]["id"]
    theirs = await gql(client, delete, {"id": tax_id}, token=world.tokens["staff_other_org"])
    assert theirs["data"]["deleteCustomFieldDefinition"]["errors"] == [{"code": "NOT_FOUND"}]
    listed = await gql(client, "{ customFieldDefinitions { nodes { name editableInPortal } } }",
                       token=world.tokens["contact_a"])  # fmt: skip
    assert listed["data"]["customFieldDefinitions"]["nodes"] == [
        {"name": "Tax number", "editableInPortal": True}
    ]


async def test_editability_is_loaded_once_per_request(client, world: World, count_queries) -> None:
    await CustomFieldDefinition.create(
        organization=world.org_a, name="PO reference", editable_in_portal=True
    )
    for index in range(30):
        await Customer.create(
            organization=world.org_a, display_name=f"Bulk {index:02}", currency="USD",
            custom_fields=[{"name": "po reference", "value": str(index)},
                           {"name": "Other", "value": "x"}],
        )  # fmt: skip
    query = """query($first: Int) { customers(first: $first) {
      nodes { customFields { name editableInPortal } } } }"""
    counts = []
    for first in (3, 30):
        count_queries.reset()
        body = await gql(client, query, {"first": first}, token=world.tokens["staff"])
        nodes = body["data"]["customers"]["nodes"]
        assert {"name": "po reference", "editableInPortal": True} in nodes[-1]["customFields"]
        assert {"name": "Other", "editableInPortal": False} in nodes[-1]["customFields"]
        counts.append(count_queries.touching("custom_field_definition"))
    assert counts == [1, 1]
