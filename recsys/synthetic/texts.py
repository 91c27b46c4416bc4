"""Free text of the synthetic programme: mentor bios, mentee goals and check-in notes.

Texts are assembled from sentence parts with many paraphrases per part, so that two people
with the same latent profile rarely get the same text. All renderers take an explicit
``random.Random`` and are pure otherwise: the same generator state gives the same text.

Working style is part of the latent compatibility model (``latent.py``) and shows up in the
texts, in different words on each side: a mentee who wants structure asks for "a clear plan
and homework", a structured mentor "runs every mentorship against agreed milestones".
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from recsys.synthetic.topics import TOPICS


@dataclass(frozen=True)
class Department:
    name: str
    roles: tuple[str, ...]
    skills: tuple[str, ...]
    home_topics: tuple[str, ...]
    weight: float


DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "Engineering",
        (
            "Software Engineer",
            "Backend Engineer",
            "Frontend Engineer",
            "Mobile Engineer",
            "Site Reliability Engineer",
            "QA Engineer",
        ),
        ("python", "java", "go", "typescript", "sql", "aws", "git", "microservices", "linux"),
        (
            "system_design",
            "code_quality",
            "legacy_modernisation",
            "cloud_devops",
            "incident_response",
            "frontend",
            "mobile",
            "testing_quality",
            "security_engineering",
        ),
        0.22,
    ),
    Department(
        "Data & Analytics",
        ("Data Analyst", "Data Scientist", "Data Engineer", "Analytics Engineer", "ML Engineer"),
        ("sql", "python", "tableau", "statistics", "dbt", "spark", "excel", "looker"),
        ("machine_learning", "data_engineering", "data_storytelling", "experimentation"),
        0.09,
    ),
    Department(
        "Product",
        ("Product Manager", "Product Owner", "Technical Product Manager"),
        ("jira", "roadmaps", "user stories", "product analytics", "sql"),
        ("product_discovery", "roadmapping", "stakeholder_management", "experimentation"),
        0.07,
    ),
    Department(
        "Design",
        ("Product Designer", "UX Researcher", "Visual Designer", "Content Designer"),
        ("figma", "prototyping", "user research", "illustration", "usability testing"),
        ("ux_design", "design_systems", "accessibility", "content_design"),
        0.05,
    ),
    Department(
        "Sales",
        ("Account Executive", "Sales Development Representative", "Sales Engineer"),
        ("salesforce", "crm", "forecasting", "solution selling", "demos"),
        ("enterprise_sales", "prospecting", "negotiation"),
        0.11,
    ),
    Department(
        "Marketing",
        ("Marketing Manager", "Content Marketer", "Growth Marketer", "Brand Manager"),
        ("seo", "google analytics", "copywriting", "hubspot", "social media"),
        ("brand_marketing", "growth_marketing", "content_design"),
        0.07,
    ),
    Department(
        "Customer Success",
        (
            "Customer Success Manager",
            "Support Specialist",
            "Account Manager",
            "Implementation Consultant",
        ),
        ("zendesk", "crm", "onboarding", "renewals", "customer training"),
        ("account_management", "facilitation"),
        0.09,
    ),
    Department(
        "Finance",
        ("Financial Analyst", "Accountant", "Controller", "FP&A Analyst"),
        ("excel", "financial modelling", "sap", "ifrs", "month-end close"),
        ("budgeting", "business_finance", "procurement"),
        0.06,
    ),
    Department(
        "People",
        (
            "HR Business Partner",
            "Recruiter",
            "People Operations Specialist",
            "Learning & Development Specialist",
        ),
        ("workday", "employment law", "recruiting", "coaching", "onboarding"),
        ("recruiting", "performance_reviews", "employee_relations", "inclusion"),
        0.05,
    ),
    Department(
        "Operations",
        ("Operations Analyst", "Project Manager", "Program Manager", "Supply Chain Analyst"),
        ("excel", "lean", "jira", "sap", "logistics", "vendor management"),
        ("process_improvement", "project_delivery", "procurement"),
        0.08,
    ),
    Department(
        "Legal & Compliance",
        ("Legal Counsel", "Compliance Analyst", "Paralegal", "Privacy Specialist"),
        ("contract law", "gdpr", "risk assessment", "policy writing"),
        ("privacy_compliance", "contracts"),
        0.03,
    ),
    Department(
        "Security",
        ("Security Engineer", "Security Analyst", "Identity Engineer"),
        ("siem", "penetration testing", "iam", "cloud security"),
        ("security_engineering", "incident_response", "privacy_compliance"),
        0.03,
    ),
    Department(
        "IT",
        ("IT Support Specialist", "Systems Administrator", "IT Project Manager"),
        ("active directory", "networking", "itil", "scripting", "jamf"),
        ("cloud_devops", "project_delivery"),
        0.03,
    ),
    Department(
        "Research",
        ("Research Scientist", "Applied Scientist"),
        ("python", "statistics", "pytorch", "publishing", "experimental design"),
        ("machine_learning", "experimentation"),
        0.02,
    ),
)

_LEVEL_TITLES: tuple[tuple[str, ...], ...] = (
    ("Associate {role}", "Junior {role}", "{role} Apprentice"),
    ("{role}",),
    ("{role} II", "{role}"),
    ("Senior {role}",),
    ("Lead {role}", "Staff {role}"),
    ("Principal {role}", "{dept} Manager", "Senior {role} Manager"),
    ("Director, {dept}", "Head of {dept}", "Senior Director, {dept}"),
    ("VP, {dept}", "Chief of Staff, {dept}", "SVP, {dept}"),
)


def title_for(rng: random.Random, dept: Department, seniority: int) -> str:
    """A job title for a person of ``seniority`` (1..8) in ``dept``."""
    template = rng.choice(_LEVEL_TITLES[seniority - 1])
    return template.format(role=rng.choice(dept.roles), dept=dept.name)


# ------------------------------------------------------------------ working style
# Index 0 = +1 (structured / written), index 1 = -1 (informal / live).
MENTEE_STRUCTURE: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "I work best with a clear plan and something concrete to do between our meetings.",
        "Homework and deadlines keep me honest, so I'd like us to set targets and track them.",
        "I'd appreciate a bit of method: concrete steps, dates, and a look back at what I got done.",
        "I like knowing in advance what we'll cover each time.",
    ),
    (
        "I'd rather keep things relaxed and see where the conversations take us.",
        "Nothing too formal for me — I mostly want someone to think out loud with.",
        "I don't need a programme; an honest chat whenever something comes up would be perfect.",
        "Loose, wandering conversations are where I learn the most.",
    ),
)
MENTOR_STRUCTURE: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "Every mentorship I run starts with agreed objectives and milestones we review monthly.",
        "I keep a shared tracker of goals and we check progress against it each session.",
        "My approach is methodical: a written agenda, exercises in between, a retrospective at the end.",
        "Expect frameworks, checklists and a fairly disciplined cadence from me.",
    ),
    (
        "My sessions are open-ended: we follow whatever is on your mind that week.",
        "I don't do agendas; the conversation wanders, and that's usually where the good stuff is.",
        "I keep it informal — think coffee-chat rather than curriculum.",
        "I'm an improviser: we pick the most pressing thing and talk it through.",
    ),
)
MENTEE_MODALITY: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "I think more clearly when I can put my thoughts on paper first, so async messages would suit me.",
        "I'm more comfortable exchanging notes than answering on the spot.",
        "Speaking off the cuff drains me a little; I'd rather reply in my own time.",
    ),
    (
        "I'd love regular face time where we can properly hash things out.",
        "Face-to-face chats energise me far more than long emails.",
        "I process by talking, so real conversations matter more to me than messages.",
    ),
)
MENTOR_MODALITY: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "Much of my mentoring happens asynchronously: comments on drafts, shared docs, threaded chat.",
        "I send detailed follow-ups after each session and answer questions over chat in between.",
        "I'm a documenter at heart and love giving considered, long-form responses.",
    ),
    (
        "I prefer real-time conversation — video calls, coffee, walking meetings.",
        "I'm a talker: I'd much rather hop on a call than trade messages.",
        "I do my best mentoring live, in person or on video, reacting in the moment.",
    ),
)

# ------------------------------------------------------------------ mentor bios
_EXPERTISE_FRAMES: tuple[str, ...] = (
    "My sweet spot is {x}.",
    "People usually come to me for {x}.",
    "I've spent most of my career on {x}.",
    "Over the years I've coached dozens of colleagues on {x}.",
    "Most of my mentoring has been around {x}.",
    "I know a fair amount about {x}.",
    "Areas I can help with: {x}.",
    "I've built and led teams focused on {x}.",
    "Deep experience in {x}.",
    "Ask me about {x}.",
    "I'm often the go-to person for {x}.",
    "Before my current role I spent several years on {x}.",
)
_SECOND_EXPERTISE_FRAMES: tuple[str, ...] = (
    "I also enjoy talking about {x}.",
    "Happy to help with {x} as well.",
    "On the side I've picked up a lot about {x}.",
    "Another recurring theme in my sessions is {x}.",
    "I've also done a stint in {x}.",
    "Secondary interest: {x}.",
)
_BACKGROUND: tuple[str, ...] = (
    "{title} in {dept}, with about {years} years in the industry.",
    "I'm a {title} in {dept} and have been working for {years} years, {companies}.",
    "{years} years in, currently {title} in our {dept} group.",
    "I lead work as {title} ({dept}); before that I was {prior}.",
    "Currently {title}. Previously {prior}, {years} years in total.",
    "{title} on the {dept} side. Career so far: {companies}, {years} years.",
)
_COMPANIES: tuple[str, ...] = (
    "mostly in scale-ups",
    "split between a consultancy and two start-ups",
    "including a long stretch at a large bank",
    "across retail, telecoms and SaaS",
    "in three countries",
    "almost all of it in B2B software",
    "starting out in the public sector",
    "with a few years running my own small business",
)
_PRIOR: tuple[str, ...] = (
    "at a management consultancy",
    "a founder of a small agency",
    "in a large telecoms company",
    "at a fintech start-up",
    "in the public sector",
    "teaching at a university",
    "in an early-stage start-up that didn't make it",
    "at one of our competitors",
    "in the military",
    "working in hospitality while studying at night",
)
_MENTOR_EXTRAS: tuple[str, ...] = (
    "",
    "",
    "",
    "I believe the best mentoring is mostly listening.",
    "I'll be honest with you, and I'll expect the same back.",
    "I've been mentored myself for years and want to pay it forward.",
    "Outside work I run long distances and coach a youth football team.",
    "Parent of two, keen cook, terrible golfer.",
    "I'm happy to share the mistakes I made so you can skip them.",
    "I won't hand you answers, but I'll ask good questions.",
    "I learn at least as much from my mentees as they do from me.",
    "Fair warning: I love a good book recommendation.",
)


def render_mentor_bio(
    rng: random.Random,
    *,
    title: str,
    department: str,
    years: int,
    topics: Sequence[int],
    structure: int,
    modality: int,
    show_structure: bool,
    show_modality: bool,
) -> str:
    """Background, expertise (first topic is the main one) and how the mentor mentors."""
    parts = [
        rng.choice(_BACKGROUND).format(
            title=title,
            dept=department,
            years=years,
            companies=rng.choice(_COMPANIES),
            prior=rng.choice(_PRIOR),
        )
    ]
    main = TOPICS[topics[0]]
    parts.append(rng.choice(_EXPERTISE_FRAMES).format(x=rng.choice(main.expertise)))
    if rng.random() < 0.5 and len(main.expertise) > 1:
        parts.append(
            rng.choice(("Also: {x}.", "That includes {x}.", "Plus {x}.", "And {x}, too.")).format(
                x=rng.choice(main.expertise)
            )
        )
    for t in topics[1:]:
        parts.append(rng.choice(_SECOND_EXPERTISE_FRAMES).format(x=rng.choice(TOPICS[t].expertise)))
    style: list[str] = []
    if show_structure:
        style.append(rng.choice(MENTOR_STRUCTURE[0 if structure > 0 else 1]))
    if show_modality:
        style.append(rng.choice(MENTOR_MODALITY[0 if modality > 0 else 1]))
    rng.shuffle(style)
    parts.extend(style)
    extra = rng.choice(_MENTOR_EXTRAS)
    if extra:
        parts.append(extra)
    return " ".join(dedupe_sentences(parts))


# ------------------------------------------------------------------ mentee goals
_INTRO: tuple[str, ...] = (
    "",
    "",
    "I'm a {title} in {dept}.",
    "I joined {dept} as a {title} about {months} months ago.",
    "Quick context: {title}, {dept}.",
    "I've been a {title} for a while now.",
    "Currently working as a {title}.",
)
_PROBLEM_FRAMES: tuple[str, ...] = (
    "{p}",
    "{p}",
    "Honestly, {pl}",
    "Here's my situation: {pl}",
    "The main thing: {pl}",
    "To be frank, {pl}",
    "Lately {pl}",
)
_WANT_FRAMES: tuple[str, ...] = (
    "I want to {w}.",
    "My goal this year is to {w}.",
    "I'd really like to {w}.",
    "I'm hoping to {w} within the next six months.",
    "Looking for someone who can help me {w}.",
    "Ideally I'd learn to {w}.",
    "What I'm after: being able to {w}.",
    "I need to {w}, and soon.",
)
_SECOND_GOAL_FRAMES: tuple[str, ...] = (
    "Secondary thing: {pl}",
    "Also, {pl}",
    "On top of that, {pl}",
    "A smaller worry: {pl}",
    "If there's time, I'd also like to {w}.",
    "Longer term I'd like to {w}.",
)
_UNCLEAR: tuple[str, ...] = (
    "To be honest I'm not sure yet what I need — maybe a bit of everything.",
    "I don't have a precise goal; I just feel I should be growing faster.",
    "Not entirely sure where to focus, open to suggestions.",
    "I'm a bit all over the place about what I want from this.",
)
_MENTEE_EXTRAS: tuple[str, ...] = (
    "",
    "",
    "",
    "",
    "Open to mentors from any part of the company.",
    "My manager suggested I sign up.",
    "Happy to put in the work.",
    "Thanks for reading!",
    "I've never had a mentor before.",
    "I tried this once before and it fizzled out, so fingers crossed.",
)


def _lower_first(s: str) -> str:
    return s[0].lower() + s[1:] if s and not s.startswith("I ") and not s.startswith("I'") else s


def render_mentee_goals(
    rng: random.Random,
    *,
    title: str,
    department: str,
    topics: Sequence[int],
    unclear: bool,
    structure: int,
    modality: int,
    show_structure: bool,
    show_modality: bool,
) -> str:
    """First-person, problem-oriented goals: the main topic first, maybe a second one."""
    parts: list[str] = []
    intro = rng.choice(_INTRO)
    if intro:
        parts.append(intro.format(title=title, dept=department, months=rng.randint(2, 30)))
    if unclear:
        parts.append(rng.choice(_UNCLEAR))
    main = TOPICS[topics[0]]
    problem = rng.choice(main.problems)
    parts.append(rng.choice(_PROBLEM_FRAMES).format(p=problem, pl=_lower_first(problem)))
    if rng.random() < 0.75:
        parts.append(rng.choice(_WANT_FRAMES).format(w=rng.choice(main.wants)))
    for t in topics[1:]:
        second = TOPICS[t]
        parts.append(
            rng.choice(_SECOND_GOAL_FRAMES).format(
                pl=_lower_first(rng.choice(second.problems)), w=rng.choice(second.wants)
            )
        )
    style: list[str] = []
    if show_structure:
        style.append(rng.choice(MENTEE_STRUCTURE[0 if structure > 0 else 1]))
    if show_modality:
        style.append(rng.choice(MENTEE_MODALITY[0 if modality > 0 else 1]))
    rng.shuffle(style)
    parts.extend(style)
    extra = rng.choice(_MENTEE_EXTRAS)
    if extra:
        parts.append(extra)
    return " ".join(dedupe_sentences(parts))


def dedupe_sentences(parts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(p for p in parts if p))


# ------------------------------------------------------------------ check-in notes
NOTE_SIGNALS: tuple[str, ...] = (
    "poor_match",
    "low_commitment",
    "time_constraints",
    "communication_breakdown",
    "fear_of_feedback",
    "unclear_goals",
    "boundary_concern",
    "positive_progress",
)
"""Note codes 0..7 carry one challenge signal (same order as ``recsys.schemas.Signal``)."""
NOTE_NEUTRAL = 8
"""A note that reports nothing in particular."""
NOTE_NEGATED = 9
"""A note that mentions a problem only to say it is *not* there ("we haven't missed a session")."""

ROLES: tuple[str, ...] = ("mentee", "mentor", "coordinator")

# _NOTES[code][role] -> phrasings. {other} is "my mentor" / "my mentee"; {they} a pronoun.
_NOTES: dict[int, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    0: (  # poor_match
        (
            "Our sessions keep drifting to things that aren't really my problem.",
            "I'm not sure {other} has ever worked on anything close to what I need.",
            "Nice person, but the advice feels generic for my situation.",
            "We seem to talk past each other about what I actually need help with.",
            "Honestly I think someone with a different background would help me more.",
            "{Other} keeps suggesting things that only make sense at a much more junior level.",
            "I feel like I know more about this area than {other} does, which is awkward.",
        ),
        (
            "I'm not convinced I'm the right person for what {they} need; it's outside my experience.",
            "Most of what {other} asks about is far from anything I've done.",
            "I've struggled to add value — the topics aren't ones I know well.",
            "We're roughly at the same level, so I'm not sure what I can offer.",
            "I'd suggest a re-match with someone who has done this kind of work.",
        ),
        (
            "Both sides say the fit is off: the mentee's goals sit outside the mentor's experience.",
            "Mentee asked whether a re-match is possible.",
            "Flagging a likely mismatch; the mentee needs a more senior perspective than this pairing gives.",
            "The mentor feels unqualified for the mentee's main goal. Looking at alternatives.",
        ),
    ),
    1: (  # low_commitment
        (
            "{Other} has cancelled the last three sessions.",
            "It's been weeks since I heard back from {other}.",
            "Sessions keep getting pushed and I'm starting to lose motivation.",
            "{Other} turned up late again and seemed distracted the whole time.",
            "I've been slacking on the actions we agreed, to be honest.",
        ),
        (
            "{Other} didn't show up to our last two calls.",
            "Hard to get replies from {other} lately.",
            "I've been a bit checked out myself and need to give this more attention.",
            "{They_cap} hasn't done any of the things we agreed last time.",
            "Had to cancel again this week; I'm not giving this the time it deserves.",
        ),
        (
            "No session logged for over a month.",
            "Mentor hasn't responded to two reminders from the programme team.",
            "Mentee missed the mid-point check-in without notice.",
            "Engagement has dropped off on both sides since the first month.",
        ),
    ),
    2: (  # time_constraints
        (
            "We can only ever find a slot at 7am my time.",
            "Our calendars barely overlap; we rescheduled twice this month.",
            "Quarter-end crunch means I keep skipping sessions.",
            "With the time difference one of us is always joining late at night.",
            "{Other} is clearly stretched across too many mentees to fit me in.",
        ),
        (
            "With the time difference we end up meeting very early or very late.",
            "I took on too many mentees this cycle and I'm short on time.",
            "Busy launch period; had to move our sessions a few times.",
            "Finding an hour that works for both of us is a real struggle.",
        ),
        (
            "Scheduling is the main issue — they are many hours apart.",
            "Mentor's calendar is overloaded; sessions keep slipping.",
            "Both report difficulty finding meeting times.",
        ),
    ),
    3: (  # communication_breakdown
        (
            "I leave our calls unsure what we actually agreed.",
            "Messages go unanswered for days and then we're out of sync.",
            "We have very different ways of working and it creates friction.",
            "I asked for concrete action items and got vague chats instead.",
            "I'd prefer to write things out first, but every exchange has to be a live call.",
            "I feel like I'm not being heard when I explain what I need.",
        ),
        (
            "{Other} rarely says what {they} think; I'm not sure my suggestions land.",
            "We keep misunderstanding each other over chat.",
            "I send detailed notes after each session but they don't seem to get read.",
            "Our conversations feel stilted and we talk past each other.",
        ),
        (
            "Some friction between them about how to run the sessions.",
            "Both described the conversations as awkward and unproductive.",
            "Mentee says feedback is delivered in a way they find hard to follow.",
        ),
    ),
    4: (  # fear_of_feedback
        (
            "I get nervous before sessions because I worry about being judged.",
            "I haven't shared my draft yet — I'm afraid it isn't good enough.",
            "When {other} points out gaps I kind of shut down.",
            "I dread hearing what I'm doing wrong, so I keep things vague.",
        ),
        (
            "{Other} gets defensive whenever I point out something to improve.",
            "{They_cap} avoids showing me real work, I think for fear of criticism.",
            "I have to tread very carefully with critique or {they} withdraw.",
        ),
        (
            "Mentee seems anxious about receiving critique; suggested lighter-touch check-ins.",
            "Mentor reports the mentee becomes defensive when given feedback.",
        ),
    ),
    5: (  # unclear_goals
        (
            "I'm still not sure what I want out of this.",
            "We've spent most sessions trying to figure out what to work on.",
            "My priorities keep shifting so we never get anywhere concrete.",
        ),
        (
            "Three sessions in and we still haven't pinned down a goal.",
            "The goals change every time we meet.",
            "It's hard to help when {other} doesn't know what {they} want from this.",
        ),
        (
            "Pairing lacks a defined objective; sent them the goal-setting template.",
            "Neither side could name what they're working towards.",
        ),
    ),
    6: (  # boundary_concern
        (
            "{Other} asked me to share details about my team's reorganisation that I'm not supposed to discuss.",
            "Some comments in our last session made me uncomfortable.",
            "{Other} now sits on the panel reviewing my promotion, which feels like a conflict of interest.",
            "{Other} suggested we meet at a bar late in the evening and I didn't feel okay about it.",
        ),
        (
            "{Other} shared confidential information about another team and I'm not sure what to do with it.",
            "{Other} asked me to put in a word on a hiring decision I'm involved in.",
            "I was asked to review {other}'s performance case, so I think I have a conflict of interest.",
        ),
        (
            "Received a report of inappropriate remarks during a session; escalating to HR.",
            "Potential conflict of interest: mentor now sits in the mentee's reporting line.",
            "Concern raised about confidential information being shared; compliance informed.",
        ),
    ),
    7: (  # positive_progress
        (
            "I feel much more confident than when we started.",
            "Every session gives me something concrete to try the next week.",
            "Tried the approach we discussed and it worked better than I expected.",
            "{Other} has been brilliant; I finally have a plan I believe in.",
            "Got great news this month, and a lot of it is down to our sessions.",
            "Really valuable conversations, I look forward to them.",
        ),
        (
            "{Other} has made real progress since we started.",
            "Great energy in our sessions; {they} always come prepared.",
            "{They_cap} hit the first milestone ahead of plan.",
            "Lovely to see how much more confident {other} is now.",
        ),
        (
            "Both report steady progress; on track for the goals they set.",
            "Pairing going well — mentee describes it as the most useful part of the programme.",
            "Positive mid-point review from both sides.",
        ),
    ),
    8: (  # neutral
        (
            "Met on Thursday; we talked about the upcoming planning cycle.",
            "Quick check-in this week, nothing special to report.",
            "We moved our meetings to Fridays from now on.",
            "Second session done. Mostly getting to know each other.",
            "Shared my notes from the last call with {other}.",
        ),
        (
            "Short session, mostly catching up on what happened since last time.",
            "We covered the team offsite and a couple of small questions.",
            "Switched to fortnightly meetings for the summer.",
            "Had our monthly call; next one is booked.",
        ),
        (
            "Mid-point survey received from both.",
            "Routine check-in, no action needed.",
            "Reminder sent about the programme's closing event.",
        ),
    ),
    9: (  # negated: mentions a problem only to deny it
        (
            "We haven't missed a single session so far.",
            "No scheduling problems at all, despite the time difference.",
            "I was worried about getting critical feedback but it hasn't been a problem at all.",
            "Not a mismatch in the slightest — {other} has done exactly what I'm trying to do.",
            "I never feel judged when I bring half-finished work.",
            "Goals are clear and we haven't drifted from them.",
        ),
        (
            "No concerns: {other} shows up prepared every time.",
            "Time zones haven't been an issue for us.",
            "There's been no awkwardness when I give critical feedback.",
            "We've never had to cancel a meeting.",
        ),
        (
            "No concerns raised by either side.",
            "Checked in: no issues with scheduling or engagement.",
            "Nothing to escalate; both say it's working.",
        ),
    ),
}

_OPENERS: tuple[str, ...] = (
    "",
    "",
    "",
    "",
    "Update: ",
    "Quick note: ",
    "Check-in: ",
    "Week {w}: ",
    "Session {s}: ",
)
_CLOSERS_PROBLEM: tuple[str, ...] = (
    "",
    "",
    "",
    "",
    " Will see how next month goes.",
    " Let's keep an eye on it.",
    " Would appreciate some advice.",
    " Not sure what to do about it.",
)
_CLOSERS_OTHER: tuple[str, ...] = ("", "", "", "", "", " More next time.", " All good.")
_PRONOUNS: tuple[tuple[str, str], ...] = (("they", "They"), ("she", "She"), ("he", "He"))


def _expand_note(text: str, role: int, pronoun: tuple[str, str]) -> str:
    they, they_cap = pronoun
    other = "my mentor" if role == 0 else "my mentee"
    text = text.format(
        other=other, Other=other[0].upper() + other[1:], they=they, They_cap=they_cap
    )
    # verb agreement: the phrasings are written for "they <verb>"
    if they == "they":
        return text.replace("They hasn't", "They haven't").replace("They avoids", "They avoid")
    for verb in ("need", "think", "want", "withdraw", "always come"):
        text = text.replace(f"{they} {verb}", f"{they} {verb}s")
    return text


_NOTE_VARIANTS: dict[tuple[int, int], tuple[str, ...]] = {}


def note_variants(code: int, role: int) -> tuple[str, ...]:
    """Every phrasing of note kind ``code`` by ``role``, pronouns filled in (cached)."""
    key = (code, role)
    if key not in _NOTE_VARIANTS:
        texts = _NOTES[code][role]
        has_pronoun = any("{they}" in t or "{They_cap}" in t for t in texts)
        pronouns = _PRONOUNS if has_pronoun else _PRONOUNS[:1]
        _NOTE_VARIANTS[key] = tuple(
            dict.fromkeys(_expand_note(t, role, p) for t in texts for p in pronouns)
        )
    return _NOTE_VARIANTS[key]


def render_note(rng: random.Random, code: int, role: int) -> str:
    """One check-in note of kind ``code`` (see :data:`NOTE_SIGNALS`) by author ``role`` (0..2)."""
    variants = note_variants(code, role)
    text = variants[int(rng.random() * len(variants))]
    opener = _OPENERS[int(rng.random() * len(_OPENERS))]
    if "{" in opener:
        opener = opener.format(w=2 + int(rng.random() * 19), s=2 + int(rng.random() * 11))
    closers = _CLOSERS_PROBLEM if code < 6 else _CLOSERS_OTHER if code > 6 else ("",)
    return opener + text + closers[int(rng.random() * len(closers))]
