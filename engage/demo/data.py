"""The demo company's story as data: the channels, who answers since when, what customers
write and what is answered, the insights, the follow-ups and the customers' ratings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from engage.models import InsightStatus

HISTORY_DAYS = 180
ROUTING_LIVE_DAYS_AGO = 84  # before this, nothing was routed: marketing saw (and answered) everything
MARKETING_ANSWERS_FROM_DAYS_AGO = 130
LEASE = timedelta(minutes=15)
TRIAGE_AFTER_DAYS = (4, 10)  # unanswered queries older than this were closed as "no action"


@dataclass(frozen=True)
class DemoChannel:
    slug: str
    name: str
    kind: str
    share: float
    connector: str = "webhook"


CHANNELS = (
    DemoChannel("x", "X (Twitter)", "twitter", 0.34),
    DemoChannel("forum", "Community forum", "forum", 0.30, connector="discourse"),
    DemoChannel("support-email", "Support email", "email", 0.18, connector="email"),
    DemoChannel("facebook", "Facebook", "facebook", 0.12),
    DemoChannel("linkedin", "LinkedIn", "linkedin", 0.06),
)
# Not in the story's draw (its shares stay as they were): every SLACK_EVERY-th forum query of
# the story came through Slack instead.
SLACK = DemoChannel("customer-slack", "Customer Slack", "other", 0.0, connector="slack")
SLACK_EVERY = 9
SLACK_CHANNEL_ID = "C0DEMOHELP1"

# The connected channels' settings: hosts under .invalid (RFC 6761: never looked up), so the
# demo has no live connection; the credentials are placeholders, sealed like real ones.
CONNECTOR_SETTINGS: dict[str, tuple[dict[str, object], dict[str, str]]] = {
    "discourse": (
        {"base_url": "https://forum.example.invalid", "api_username": "engage-bot"},
        {"api_key": "demo-not-connected", "webhook_secret": "demo-not-connected"},
    ),
    "slack": (
        {
            "channel_ids": [SLACK_CHANNEL_ID],
            "bot_user_id": "U0DEMOBOT1",
            "api_url": "https://slack.example.invalid/api/",
        },
        {"bot_token": "xoxb-demo-not-connected", "signing_secret": "demo-not-connected"},
    ),
    "email": (
        {
            "from_address": "support@example.invalid",
            "imap_host": "imap.example.invalid",
            "imap_security": "ssl",
            "imap_username": "support@example.invalid",
            "imap_mailbox": "INBOX",
            "smtp_host": "smtp.example.invalid",
            "smtp_security": "starttls",
        },
        {"imap_password": "demo-not-connected"},
    ),
}

# Departments that answer their own queries: since how many days ago, and how many of their
# people do by now (fewer at first).
ANSWERING: dict[str, tuple[int, int]] = {
    "customer-service": (80, 12),
    "support": (76, 11),
    "sales": (72, 6),
    "product": (62, 3),
    "engineering": (58, 3),
    "people": (56, 2),
    "finance": (50, 2),
    "legal": (44, 1),
    "it": (46, 1),
}
MARKETING_TEAM = 7  # the social media team (marketing and communications)

# What customers write, by topic (each mentions its topic's keywords, as real ones do);
# None: nothing any topic routes.
QUESTIONS: dict[str | None, tuple[int, tuple[str, ...]]] = {
    "billing": (
        18,
        (
            "I was charged twice for my subscription this month, can someone help?",
            "Where can I download the invoice for my last payment?",
            "I asked for a refund two weeks ago and nothing yet. How long does a refund take?",
            "My card payment failed but the billing page says paid. Which is it?",
            "Can I get a refund for the unused months of my annual plan?",
        ),
    ),
    "orders": (
        16,
        (
            "My order hasn't arrived and the tracking number doesn't work.",
            "How do I return a damaged item from my order?",
            "Delivery was promised for Tuesday, it's Friday. Any news on shipping?",
            "Can I change the delivery address on an order I placed this morning?",
            "Is there free shipping on a return if the size is wrong?",
        ),
    ),
    "sign-in": (
        12,
        (
            "I'm locked out of my account after the password reset email never came.",
            "Two-factor codes are not accepted anymore, I can't sign in.",
            "Login keeps looping back to the start page on my phone.",
            "How do I turn on two-factor for my whole team?",
        ),
    ),
    "outages": (
        8,
        (
            "Is the app down? Dashboard has been not loading for 20 minutes.",
            "Getting error 500 on every page since this morning.",
            "Is there a status page I can follow during an outage?",
        ),
    ),
    "integrations": (
        7,
        (
            "Your webhook sends the same event three times. Is that expected?",
            "Is there an SDK for Python, or only the REST api?",
            "The Shopify integration stopped syncing orders yesterday.",
        ),
    ),
    "pricing": (
        9,
        (
            "What does the enterprise plan cost for 200 seats?",
            "Do you have a discount for nonprofits or schools?",
            "Can I get a quote for a yearly plan paid by invoice?",
            "Your pricing page and the checkout show different prices.",
        ),
    ),
    "campaigns": (
        6,
        (
            "I entered the giveaway last week, when are winners announced?",
            "The promo code from your newsletter says expired.",
            "How do I sign up for the newsletter?",
        ),
    ),
    "press": (
        2,
        (
            "Journalist here: who can I talk to for an interview about your growth?",
            "Media inquiry about your new community forum, who handles press?",
        ),
    ),
    "feature-requests": (
        6,
        (
            "Feature request: a dark mode for the mobile app, please!",
            "Would love an export of all my data to CSV.",
            "Please add a Slack notification when an order ships.",
            "Is an offline mode on the roadmap?",
        ),
    ),
    "bugs": (
        5,
        (
            "The app crashes every time I upload a large photo.",
            "Found a bug: dates show in the wrong time zone in reports.",
            "Looks like a regression since the last update, the search is empty.",
        ),
    ),
    "careers": (
        4,
        (
            "Are you hiring in Lisbon? I can't find the careers page.",
            "Is the summer internship open to international students?",
            "I applied for a job three weeks ago, is there any news?",
        ),
    ),
    "investors": (
        2,
        (
            "When will the annual report be published?",
            "Investor question: when are the next earnings announced?",
        ),
    ),
    "privacy": (
        3,
        (
            "Please delete my data, I'm leaving. How do I do that under GDPR?",
            "Where is your privacy policy for the mobile app?",
        ),
    ),
    "security": (
        1,
        (
            "I got a phishing email pretending to be you.",
            "I think I found a vulnerability in your login form, who do I tell?",
        ),
    ),
    "leadership": (1, ("Will the CEO speak at the customer conference this year?",)),
    None: (
        10,
        (
            "Love what you've built, thank you!",
            "Hello? Is anybody reading this account?",
            "Quick question: are you open on Sundays?",
            "Your new logo looks great.",
            "Does your app work in Portuguese?",
        ),
    ),
}

OPENINGS = (
    "Hi {name}, thanks for reaching out!",
    "Hello {name}, sorry for the trouble.",
    "Thanks for asking, {name}.",
    "Hi {name} — good question.",
)
ANSWERS: dict[str | None, tuple[str, ...]] = {
    "billing": (
        "I can see the **duplicate charge** and I've refunded it; it reaches your card within five working days.",
        "You'll find every invoice under *Settings → Billing*. I've also sent the last one to your email.",
    ),
    "orders": (
        "I checked your order: it left our warehouse yesterday and the **tracking link** is now active.",
        "Returns are free within 30 days — start one from *Orders → Return an item*.",
    ),
    "sign-in": (
        "I've sent a fresh password reset link; it's valid for one hour. Check the spam folder too.",
        "Two-factor codes depend on your phone's clock: set it to automatic and try again.",
    ),
    "outages": ("We had a short outage in one region; it's fixed now. Updates are always on our status page.",),
    "integrations": (
        "Webhooks are retried until you answer with a 2xx, so the same event can arrive twice: "
        "use its id to skip duplicates.",
    ),
    "pricing": (
        "I've asked a colleague in Sales to send you a quote today. The enterprise plan includes SSO and support.",
    ),
    "campaigns": ("Winners are announced on Friday on our blog, and we'll tell every winner by email.",),
    "press": ("Our communications team will contact you today to set up an interview.",),
    "feature-requests": ("Great idea — I've passed it to our product team as an insight.",),
    "bugs": ("Thanks for the report! Engineering has reproduced it and a fix is on its way.",),
    "careers": ("Every open role is on our careers page, and we answer every application within three weeks.",),
    "investors": ("The annual report is published in March on our investor pages.",),
    "privacy": ("You can delete your account and data yourself under *Settings → Privacy*.",),
    "security": ("Thank you — please send the details to our security team; we'll answer within a day.",),
    "leadership": ("Yes! Our CEO opens the conference on the first morning.",),
    None: ("Happy to help — here is what you need to know.",),
}
# Questions no topic routes get an answer of their own.
GENERIC_ANSWERS = {
    "Love what you've built, thank you!": "Thank you, that made our day! Tell us anytime what we could do better.",
    "Hello? Is anybody reading this account?": "We are! Sorry for the wait — what can we help you with?",
    "Quick question: are you open on Sundays?": "Yes: our support answers every day from 8 to 20, Sundays too.",
    "Your new logo looks great.": "Thank you! Our design team will be delighted to hear it.",
    "Does your app work in Portuguese?": "It does: choose Português under *Settings → Language*.",
}
CLOSINGS = ("", "", "Anything else, just reply here.", "Have a good day!")
REJECTION_COMMENTS = (
    "Please don't promise a date here: say it is being looked at, and link the approved wording.",
    "Too long for a public reply — keep the first two sentences and move the account details to a private message.",
    "Remove the order number from the public answer and ask them to check their direct messages.",
    "Use the approved refund wording: five working days, not 'a few days'.",
)
HANDLE_NAMES = (
    "Ana Souza",
    "Ben Carter",
    "Chiara Rossi",
    "Dev Patel",
    "Elif Demir",
    "Finn Murphy",
    "Grace Liu",
    "Hamid Karimi",
    "Ines Moreau",
    "Jonas Berg",
    "Kofi Mensah",
    "Lucia Gomez",
    "Marta Nowak",
    "Noah Fischer",
    "Olga Ivanova",
    "Pedro Alves",
    "Quinn Taylor",
    "Rania Haddad",
    "Sven Larsen",
    "Tomoko Sato",
)


@dataclass(frozen=True)
class DemoInsight:
    title: str
    description: str
    topic: str
    submitted_days_ago: float
    moves: tuple[tuple[str, float], ...]  # (status, days ago)
    queries: int


INSIGHTS = (
    DemoInsight(
        "Delivery tracking link in the confirmation email",
        "Customers keep asking where their order is: the confirmation email has no tracking link.",
        "orders",
        160,
        ((InsightStatus.UNDER_REVIEW, 155), (InsightStatus.SHIPPED, 128)),
        4,
    ),
    DemoInsight(
        "Dark mode for the mobile app",
        "A steady stream of requests on X and the forum, mostly from people using the app at night.",
        "feature-requests",
        140,
        ((InsightStatus.UNDER_REVIEW, 132), (InsightStatus.PLANNED, 110), (InsightStatus.SHIPPED, 58)),
        5,
    ),
    DemoInsight(
        "Refunds back to the original card automatically",
        "Half of our refund questions are people who were refunded to a card they no longer have.",
        "billing",
        62,
        ((InsightStatus.UNDER_REVIEW, 55), (InsightStatus.PLANNED, 41)),
        6,
    ),
    DemoInsight(
        "Export invoices as CSV",
        "Finance teams of our business customers ask for a CSV of all invoices for their bookkeeping.",
        "billing",
        70,
        ((InsightStatus.UNDER_REVIEW, 64), (InsightStatus.PLANNED, 24)),
        3,
    ),
    DemoInsight(
        "Two-factor with an authenticator app, not only SMS",
        "Travelling customers lose access when SMS codes do not arrive abroad.",
        "sign-in",
        50,
        ((InsightStatus.UNDER_REVIEW, 43),),
        4,
    ),
    DemoInsight(
        "Webhooks: let customers choose the retry schedule",
        "Integrators find our retries too aggressive during their maintenance windows.",
        "integrations",
        40,
        ((InsightStatus.UNDER_REVIEW, 31), (InsightStatus.DECLINED, 12)),
        2,
    ),
    DemoInsight(
        "Per-region status on the status page",
        "During the last outage customers could not tell whether their region was affected.",
        "outages",
        21,
        (),
        3,
    ),
    DemoInsight(
        "A nonprofit discount on annual plans",
        "Charities and schools ask for a discount; competitors offer 30 %.",
        "pricing",
        16,
        ((InsightStatus.UNDER_REVIEW, 7),),
        3,
    ),
    DemoInsight(
        "Large photo uploads crash the app",
        "Several reports this month, all with photos over 20 MB from recent phones.",
        "bugs",
        8,
        (),
        3,
    ),
    DemoInsight(
        "Slack notifications when an order ships",
        "Small shops run their day in Slack and want shipping updates there.",
        "feature-requests",
        3,
        (),
        2,
    ),
)


FOLLOW_UPS = (
    "Thanks, that helped, but now I get a different error when I try again.",
    "It still has not arrived. Is there any news?",
    "Could you send the link again? It does not open for me.",
    "One more question: does the same apply to my second account?",
)
SECOND_ANSWERS = (
    "Thanks for coming back to us. That second error means the first step went through: "
    "sign out and in once, and it clears.",
    "Sorry for the wait. We have checked again and it is on its way; you will get the tracking link by email today.",
    "Of course: here it is again, and it works from a phone too.",
    "Yes, the same applies to every account you hold with us.",
)


RATINGS_SEED = 13
RATING_COMMENTS = {
    1: ["This did not answer my question.", "Still waiting for a real fix."],
    2: ["A bit generic.", "Took a while, and I had to ask again."],
    3: ["Helpful, but slow.", "OK. A link to the steps would have helped."],
    4: ["Thanks, that sorted it.", "Clear and quick."],
    5: ["Spot on, thank you!", "Fast and friendly. Great support.", "Exactly what I needed."],
}
