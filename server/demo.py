"""`portico demo`: an organization to explore, loaded once and left alone afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from auth import passwords
from auth.principals import ContactPrincipal, StaffPrincipal
from models.customers import ContactPerson, Customer, CustomFieldDefinition, PortalAccess
from models.documents import DocumentKind, DocumentStatus, SalesDocument
from models.money import from_minor
from models.organizations import Organization
from models.payments import PaymentMode
from models.preferences import PortalPreferences
from models.reviews import Review, ReviewRequest
from models.staff import StaffRole, StaffUser
from resolvers import calendars
from resolvers.comments import NewComment, add_comment
from resolvers.documents import create_document, send_document
from resolvers.payments import Allocation, PaymentDetails, record_payment
from resolvers.preferences import preferences_for

DEMO_PORTAL = "acme"
ADMIN_EMAIL = "admin@acme.example"
ADMIN_PASSWORD = "acme-admin-portal-2026"  # noqa: S105 - published demo login
STAFF_PASSWORD = "acme-staff-portal-2026"  # noqa: S105 - published demo login
CONTACT_EMAIL = "maria.lopez@northwind.example"
CONTACT_PASSWORD = "northwind-portal-2026"  # noqa: S105 - published demo login
SECOND_CONTACT_EMAIL = "priya@contoso.example"
SECOND_CONTACT_PASSWORD = "contoso-portal-2026"  # noqa: S105 - published demo login
PORTAL_LOGINS = {CONTACT_EMAIL: CONTACT_PASSWORD, SECOND_CONTACT_EMAIL: SECOND_CONTACT_PASSWORD}


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    company: str
    currency: str
    language: str
    country: str
    city: str
    contacts: tuple[tuple[str, str, str], ...]
    allow_ach: bool = False


CUSTOMERS = (
    DemoCustomer("Northwind Traders", "Northwind Traders Inc.", "USD", "en", "US", "Seattle",
                 (("Maria", "Lopez", "maria.lopez@northwind.example"),
                  ("Tom", "Baker", "tom.baker@northwind.example")), allow_ach=True),
    DemoCustomer("Contoso Retail", "Contoso Retail LLC", "USD", "en", "US", "Chicago",
                 (("Priya", "Shah", "priya@contoso.example"),)),
    DemoCustomer("Fabrikam GmbH", "Fabrikam GmbH", "EUR", "de", "DE", "Berlin",
                 (("Jonas", "Weber", "jonas.weber@fabrikam.example"),
                  ("Lena", "Fischer", "lena.fischer@fabrikam.example"))),
    DemoCustomer("さくら商事", "株式会社さくら商事", "USD", "ja", "JP", "Osaka",
                 (("Haruto", "Sato", "haruto.sato@sakura.example"),)),
    DemoCustomer("Adventure Works", "Adventure Works Cycles", "USD", "en", "US", "Denver",
                 (("Grace", "Kim", "grace.kim@adventure.example"),), allow_ach=True),
    DemoCustomer("Le Petit Bistro", "Le Petit Bistro SARL", "EUR", "fr", "FR", "Lyon",
                 (("Camille", "Martin", "camille@bistro.example"),)),
    DemoCustomer("النور للتجارة", "شركة النور للتجارة", "USD", "ar", "AE", "Dubai",
                 (("Omar", "Haddad", "omar@alnoor.example"),
                  ("Layla", "Nasser", "layla@alnoor.example"))),
    DemoCustomer("Cantina Rossi", "Cantina Rossi S.r.l.", "EUR", "it", "IT", "Verona",
                 (("Giulia", "Rossi", "giulia@cantinarossi.example"),)),
    DemoCustomer("Alpine Ski House", "Alpine Ski House AG", "EUR", "de", "AT", "Innsbruck",
                 (("Sophie", "Gruber", "sophie@alpineski.example"),)),
    DemoCustomer("Wide World Importers", "Wide World Importers", "USD", "es", "MX", "Monterrey",
                 (("Lucia", "Hernandez", "lucia@wideworld.example"),)),
    DemoCustomer("华夏电子", "深圳华夏电子有限公司", "USD", "zh", "CN", "Shenzhen",
                 (("Wei", "Zhang", "wei.zhang@huaxia.example"),)),
    DemoCustomer("Proseware", "Proseware BV", "EUR", "nl", "NL", "Utrecht",
                 (("Daan", "de Vries", "daan@proseware.example"),)),
)  # fmt: skip


async def load_demo() -> bool:
    """Create the demo organization unless it exists. Returns whether anything was created."""
    if await Organization.exists(portal_name=DEMO_PORTAL):
        return False
    # Hashed before the transaction, which would otherwise hold the database while they run.
    staff_hash = await passwords.hash_password(STAFF_PASSWORD)
    admin_hash = await passwords.hash_password(ADMIN_PASSWORD)
    portal_hashes = {
        email: await passwords.hash_password(password) for email, password in PORTAL_LOGINS.items()
    }
    async with in_transaction():
        org = await Organization.create(
            name="Acme Supplies",
            portal_name=DEMO_PORTAL,
            email="billing@acme.example",
            phone="+1 206 555 0100",
            address={"street1": "100 Harbor Way", "city": "Seattle", "state": "WA",
                     "zip": "98101", "country": "US"},
            base_currency="USD",
            locale="en_US",
            timezone="America/Los_Angeles",
        )  # fmt: skip
        await StaffUser.create(
            organization=org, email=ADMIN_EMAIL, name="Alex Admin", role=StaffRole.ADMIN,
            password_hash=admin_hash,
        )  # fmt: skip
        for email, name in (("sam@acme.example", "Sam Sales"), ("kim@acme.example", "Kim Ops")):
            await StaffUser.create(
                organization=org, email=email, name=name, password_hash=staff_hash
            )
        for demo in CUSTOMERS:
            await _create_customer(org, demo, portal_hashes)
    admin = await StaffUser.get(email=ADMIN_EMAIL)
    await _create_documents(admin)
    await _start_conversations(admin)
    return True


async def _start_conversations(admin: StaffUser) -> None:
    """Comments on Northwind's overdue invoice (one internal), custom fields contacts may
    edit, and the reviews customers gave."""
    org_id = admin.organization_id
    await CustomFieldDefinition.bulk_create(
        [
            CustomFieldDefinition(organization_id=org_id, name="Account manager"),
            CustomFieldDefinition(
                organization_id=org_id, name="PO reference", editable_in_portal=True
            ),
        ]
    )
    northwind = await Customer.get(organization_id=org_id, display_name="Northwind Traders")
    maria = await ContactPerson.get(email=CONTACT_EMAIL)
    overdue = await SalesDocument.filter(
        customer=northwind, kind=DocumentKind.INVOICE, status=DocumentStatus.SENT
    ).first()
    if overdue is not None:
        staff, contact = StaffPrincipal(admin), ContactPrincipal(maria)
        for author, body, internal in (
            (contact, "Could you split the installation hours onto a separate invoice?", False),
            (staff, "Northwind pays late every quarter; keep the reminder on.", True),
            (staff, "Of course, we will send a separate invoice this week.", False),
        ):
            await add_comment(author, NewComment(overdue.id, body, internal))
    await preferences_for(org_id)  # created with the defaults first
    await PortalPreferences.filter(organization_id=org_id).update(customer_reviews=True)
    customers = await Customer.filter(organization_id=org_id).order_by("id").limit(4)
    for customer, rating, comment in zip(customers, (5, 4, 5, 3), REVIEWS, strict=False):
        request = await ReviewRequest.create(
            organization_id=org_id, customer=customer, requested_by=admin
        )
        contact = await ContactPerson.filter(customer=customer, is_primary=True).first()
        await Review.create(
            organization_id=org_id, customer=customer, request=request, rating=rating,
            comment=comment, contact=contact, contact_name=contact.display_name if contact else "",
        )  # fmt: skip


REVIEWS = (
    "Quick delivery and friendly installers.",
    "Good prices; the invoice portal saves us time.",
    "",
    "Chairs arrived a week late.",
)


# (kind, days before today it was issued, payment terms or validity in days, sent?)
DOCUMENT_PLAN = (
    (DocumentKind.INVOICE, 45, 30, True),  # paid by bank transfer
    (DocumentKind.INVOICE, 12, 30, True),  # partly paid for every other customer
    (DocumentKind.INVOICE, 50, 15, True),  # overdue
    (DocumentKind.INVOICE, 1, 30, False),  # a draft the customer does not see
    (DocumentKind.QUOTE, 5, 30, True),
    (DocumentKind.SALES_ORDER, 8, 10, True),
    (DocumentKind.RETAINER_INVOICE, 3, 7, True),
    (DocumentKind.CREDIT_NOTE, 20, 0, True),
)
CATALOG = (
    ("Standing desk", "ea", "489.00", "10"),
    ("Ergonomic chair", "ea", "329.50", "0"),
    ("Installation", "h", "85.00", "0"),
    ("Cable kit", "ea", "19.99", "5"),
)


async def _create_documents(admin: StaffUser) -> None:
    staff = StaffPrincipal(admin)
    # The organization's today, whatever the hour: dates relative to it keep their meaning.
    today = await calendars.today(admin.organization_id)
    customers = await Customer.filter(organization_id=admin.organization_id).order_by("id")
    for number, customer in enumerate(customers[:8]):
        issued_documents = []
        for kind, age, days, sent in DOCUMENT_PLAN:
            issued = today - timedelta(days=age)
            lines = [
                {"name": name, "unit": unit, "quantity": 1 + (number + i) % 3,
                 "rate": Decimal(rate), "discount_percent": Decimal(discount),
                 "tax_percent": Decimal("8.25")}
                for i, (name, unit, rate, discount) in enumerate(CATALOG[: 2 + number % 3])
            ]  # fmt: skip
            document = await create_document(
                staff,
                {
                    "customer_id": customer.id,
                    "kind": kind,
                    "issue_date": issued,
                    "due_date": issued + timedelta(days=days) if days else None,
                    "allow_partial_payments": number % 2 == 0,
                    "payment_methods": ["card", "ach"] if customer.allow_ach else ["card"],
                    "customer_notes": "Thank you for your business.",
                    "internal_notes": "Demo data.",
                    "line_items": lines,
                },
            )
            if sent:
                issued_documents.append(await send_document(staff, document.id))
        await _record_payments(staff, customer, number, issued_documents, today)


async def _record_payments(
    staff: StaffPrincipal,
    customer: Customer,
    number: int,
    documents: list[SalesDocument],
    today: date,
) -> None:
    """The oldest invoice paid in full, the next paid in part for every other customer, and the
    retainer paid (its money held for later invoices) for every third."""
    paid, recent = documents[0], documents[1]
    retainer = next(d for d in documents if d.kind == DocumentKind.RETAINER_INVOICE)
    plan = [(paid, paid.total_minor, PaymentMode.BANK_TRANSFER, 20)]
    if number % 2 == 0:
        plan.append((recent, recent.total_minor // 2, PaymentMode.CHEQUE, 4))
    if number % 3 == 0:
        plan.append((retainer, retainer.total_minor, PaymentMode.BANK_TRANSFER, 1))
    for document, minor, mode, days_ago in plan:
        await record_payment(
            staff,
            customer.id,
            [Allocation(document.id, from_minor(minor, document.currency))],
            PaymentDetails(mode=mode, paid_on=today - timedelta(days=days_ago),
                           reference=f"{mode.value[:3]}-{document.number}"),
        )  # fmt: skip


async def _create_customer(
    org: Organization, demo: DemoCustomer, portal_hashes: dict[str, str]
) -> None:
    address = {"street1": "1 Main Street", "city": demo.city, "country": demo.country}
    customer = await Customer.create(
        organization=org,
        display_name=demo.name,
        company_name=demo.company,
        email=demo.contacts[0][2],
        currency=demo.currency,
        portal_language=demo.language,
        billing_address=address,
        shipping_address=address,
        allow_ach=demo.allow_ach,
        credit_limit_minor=500_000,
        custom_fields=[{"name": "Account manager", "value": "Sam Sales"}],
    )
    for index, (first, last, email) in enumerate(demo.contacts):
        password_hash = portal_hashes.get(email, "")
        await ContactPerson.create(
            organization=org,
            customer=customer,
            first_name=first,
            last_name=last,
            email=email,
            is_primary=index == 0,
            portal_access=PortalAccess.ACTIVE if password_hash else PortalAccess.NOT_INVITED,
            password_hash=password_hash,
        )


def demo_logins(public_base_url: str) -> str:
    return "\n".join(
        [
            f"GraphiQL:        {public_base_url}/graphql",
            f'Staff (admin):   mutation {{ login(input: {{email: "{ADMIN_EMAIL}", '
            f'password: "{ADMIN_PASSWORD}"}}) {{ token errors {{ message }} }} }}',
            f"Staff:           sam@acme.example / {STAFF_PASSWORD}",
            f'Portal contact:  mutation {{ portalLogin(input: {{portalName: "{DEMO_PORTAL}", '
            f'email: "{CONTACT_EMAIL}", password: "{CONTACT_PASSWORD}"}}) '
            f"{{ token errors {{ message }} }} }}",
            f"Another contact: {SECOND_CONTACT_EMAIL} / {SECOND_CONTACT_PASSWORD} (Contoso Retail)",
            "Then send the token as the header  Authorization: Bearer <token>",
            "Paying (test gateway): token tok_visa or tok_declined for cards, tok_ach for a "
            "bank account; settle bank debits with `portico payments settle`.",
        ]
    )
