"""The mentoring topics of the synthetic programme and the words used to talk about them.

Every topic is written twice, by two different kinds of people:

* ``problems`` / ``wants``: how a *mentee* says it. First person, about the pain, in everyday
  words ("I freeze up when I have to present").
* ``expertise``: how a *mentor* says it. Noun phrases about a field and a practice, in the
  vocabulary of the trade ("stage presence and keynote delivery").

The two sides are deliberately written with different words, so that a good mentor for a goal
rarely shares its keywords: matching on keyword overlap fails, matching on meaning works.
``tags`` are the skill tags mentors carry for the topic (they may overlap between topics).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    key: str
    family: str
    tags: tuple[str, ...]
    problems: tuple[str, ...]
    wants: tuple[str, ...]
    expertise: tuple[str, ...]
    weight: float = 1.0  # how often mentees ask for it, relative to the others


def _t(
    key: str,
    family: str,
    tags: tuple[str, ...],
    problems: tuple[str, ...],
    wants: tuple[str, ...],
    expertise: tuple[str, ...],
    weight: float = 1.0,
) -> Topic:
    return Topic(key, family, tags, problems, wants, expertise, weight)


TOPICS: tuple[Topic, ...] = (
    # ---------------------------------------------------------------- engineering
    _t(
        "system_design",
        "engineering",
        ("system design", "distributed systems", "architecture"),
        (
            "My designs fall apart as soon as usage grows and I never see it coming.",
            "In technical discussions the seniors lose me the moment they start sketching boxes and arrows on the whiteboard.",
            "I can build a feature end to end, but I go blank when someone asks how the whole thing should hang together.",
            "I keep getting told my solutions won't cope with ten times the users.",
        ),
        (
            "get comfortable reasoning about how a big product should be carved up",
            "hold my own when we plan how a new platform will fit together",
            "stop over-engineering everything I touch and still have it survive growth",
            "think two years ahead when I choose how things talk to each other",
        ),
        (
            "scalable service architecture and the trade-offs behind it, including high-load platforms",
            "distributed systems, consistency models and capacity planning",
            "leading architecture reviews for high-traffic platforms",
            "decomposing monoliths into well-bounded services",
            "event-driven backends and resilient API contracts",
        ),
    ),
    _t(
        "code_quality",
        "engineering",
        ("code review", "clean code", "refactoring"),
        (
            "My pull requests come back with dozens of comments every single time.",
            "I'm embarrassed by how messy my changes look next to my teammates'.",
            "Looking over other people's changes takes me forever and I never know what to flag.",
            "Whenever I revisit something I built six months ago I can't follow it myself.",
        ),
        (
            "put up changes that sail through the approval step",
            "give colleagues useful remarks on their work without sounding harsh",
            "make my work easier for others to pick up and extend",
        ),
        (
            "maintainable software craftsmanship and review culture",
            "refactoring techniques and readable, well-tested modules",
            "pragmatic engineering standards, linters and style guides",
            "mentoring juniors through design patterns and SOLID principles",
        ),
    ),
    _t(
        "legacy_modernisation",
        "engineering",
        ("legacy systems", "migration", "technical debt"),
        (
            "I inherited a fifteen-year-old codebase nobody dares to touch.",
            "Every small change to our old billing platform breaks something unexpected somewhere else.",
            "I can't convince anyone to fund cleaning up the mess we keep working around.",
        ),
        (
            "untangle an ancient system without stopping feature work",
            "make the case for paying back the shortcuts we took years ago",
            "move us off a dying platform without a big-bang weekend",
        ),
        (
            "incremental migration of legacy estates, strangler-fig style",
            "technical debt triage and modernisation roadmaps",
            "rescuing brittle, under-tested mainframe and monolith systems",
            "replatforming programmes that kept the lights on throughout",
        ),
        0.7,
    ),
    _t(
        "cloud_devops",
        "engineering",
        ("kubernetes", "CI/CD", "cloud infrastructure", "terraform"),
        (
            "Our releases are a manual, nerve-racking ritual that eats a whole afternoon.",
            "I keep getting pulled into outages because I don't understand what's running where.",
            "Setting up a fresh environment takes days and I have no idea how to speed it up.",
        ),
        (
            "ship to production without holding my breath",
            "understand the plumbing that gets our work onto servers",
            "stop clicking around consoles and make our setup repeatable",
        ),
        (
            "cloud infrastructure, containers and infrastructure-as-code",
            "CI/CD pipelines and release automation",
            "platform engineering on AWS and GCP",
            "Kubernetes operations at scale",
        ),
    ),
    _t(
        "incident_response",
        "engineering",
        ("on-call", "SRE", "incident management", "observability"),
        (
            "When something breaks at 2am I panic and don't know where to look first.",
            "Our reviews after an outage turn into finger-pointing sessions.",
            "I dread my week of being the person who gets woken up.",
        ),
        (
            "stay calm and methodical when production is on fire",
            "track down the root of a crash quickly instead of guessing",
            "make nights on the pager less miserable for my team",
        ),
        (
            "site reliability engineering and observability",
            "running incident command and blameless post-mortems",
            "SLOs, alerting hygiene and sustainable on-call rotations",
        ),
        0.8,
    ),
    _t(
        "frontend",
        "engineering",
        ("react", "frontend", "web performance", "typescript"),
        (
            "Our site feels sluggish and I don't know how to find out why.",
            "I'm a backend person who suddenly has to own everything users click on.",
            "Every browser seems to show my pages slightly differently and it drives me mad.",
        ),
        (
            "build screens that feel snappy on a cheap laptop",
            "get confident with the modern tooling people use for websites",
        ),
        (
            "React and TypeScript front-end engineering",
            "web performance profiling and rendering optimisation",
            "component architecture for large single-page applications",
        ),
        0.7,
    ),
    _t(
        "mobile",
        "engineering",
        ("ios", "android", "mobile development"),
        (
            "Our ratings on phones are full of complaints about crashes I can't reproduce.",
            "I've only ever built websites and I've just been moved onto the phone app squad.",
        ),
        (
            "ship updates to phones without breaking older devices",
            "understand how releases get through Apple's and Google's approval process",
        ),
        (
            "native iOS (Swift) and Android (Kotlin) development",
            "mobile release trains, crash analytics and store submissions",
        ),
        0.5,
    ),
    _t(
        "security_engineering",
        "engineering",
        ("application security", "threat modelling", "appsec"),
        (
            "A penetration test found holes in my service and I didn't know where to start fixing them.",
            "I lie awake worrying that something I build will leak customer data.",
        ),
        (
            "think like an attacker before I ship anything",
            "bake protection into my work instead of bolting it on at the end",
        ),
        (
            "application security and threat modelling",
            "secure-by-design reviews and vulnerability management",
            "running security champions programmes for product teams",
        ),
        0.6,
    ),
    _t(
        "testing_quality",
        "engineering",
        ("test automation", "QA", "quality engineering"),
        (
            "Our customers find bugs after nearly every release.",
            "Our automated checks are so flaky that people just rerun them until they go green.",
        ),
        (
            "catch problems before customers do",
            "make our safety net something the team actually trusts",
        ),
        (
            "test automation strategy and quality engineering",
            "the testing pyramid, contract tests and flakiness reduction",
        ),
        0.6,
    ),
    # ---------------------------------------------------------------- data
    _t(
        "machine_learning",
        "data",
        ("machine learning", "python", "MLOps", "model deployment"),
        (
            "My prototypes look great in notebooks and then fall over once real customers use them.",
            "I'm an analyst who wants to build things that guess what customers will do next, but I don't know where to begin.",
            "I never know whether a fancier algorithm is worth the extra complexity.",
        ),
        (
            "get something I trained on my laptop into a product people rely on",
            "learn how the teams who build recommendation and forecasting features work day to day",
        ),
        (
            "applied machine learning and MLOps",
            "taking predictive models from prototype to production",
            "feature engineering, offline evaluation and model monitoring",
            "deep learning for ranking and NLP",
        ),
    ),
    _t(
        "data_engineering",
        "data",
        ("data pipelines", "SQL", "spark", "airflow"),
        (
            "Our nightly jobs fail constantly and everyone blames my team.",
            "The numbers in two reports never agree and I can't trace why.",
        ),
        (
            "build reliable plumbing for the company's numbers",
            "make the tables everyone queries something people trust",
        ),
        (
            "data pipeline engineering with Spark, Airflow and dbt",
            "warehouse modelling and data quality contracts",
            "batch and streaming ETL at scale",
        ),
        0.7,
    ),
    _t(
        "data_storytelling",
        "data",
        ("data visualisation", "dashboards", "analytics"),
        (
            "I produce charts that nobody looks at.",
            "Executives glaze over when I walk them through my findings.",
            "I spend weeks digging into the numbers and the meeting ends with 'interesting, thanks'.",
        ),
        (
            "turn my number-crunching into something leaders act on",
            "make my slides with numbers land with a non-technical audience",
        ),
        (
            "data visualisation and analytical storytelling",
            "designing dashboards that drive decisions",
            "translating analysis into executive narratives",
        ),
    ),
    _t(
        "experimentation",
        "data",
        ("A/B testing", "experimentation", "statistics"),
        (
            "We run tests on new features but nobody trusts the results.",
            "I'm never sure whether a change actually moved the needle or it was just luck.",
        ),
        (
            "tell real wins from noise",
            "set up fair comparisons before we launch a feature to everyone",
        ),
        (
            "A/B testing and causal inference",
            "experiment design, power analysis and metric selection",
            "statistical rigour for product decisions",
        ),
        0.6,
    ),
    # ---------------------------------------------------------------- product
    _t(
        "product_discovery",
        "product",
        ("user research", "product discovery", "customer interviews"),
        (
            "We keep shipping features that nobody uses.",
            "I don't know how to figure out what customers really need before we build it.",
            "Our backlog is full of requests from whoever shouted loudest.",
        ),
        (
            "check whether an idea is any good before we sink months into it",
            "get better at hearing what users aren't saying out loud",
        ),
        (
            "continuous discovery and customer interviewing",
            "user research methods and problem framing",
            "jobs-to-be-done and opportunity mapping",
        ),
    ),
    _t(
        "roadmapping",
        "product",
        ("roadmapping", "prioritisation", "product strategy"),
        (
            "Every stakeholder thinks their request is the most urgent thing we could do.",
            "Our plan changes every week and the team is exhausted by it.",
        ),
        (
            "say no without burning bridges",
            "build a plan for next year that people actually believe in",
        ),
        (
            "product strategy and roadmap prioritisation frameworks",
            "portfolio trade-offs, OKRs and outcome-based planning",
        ),
    ),
    _t(
        "stakeholder_management",
        "product",
        ("stakeholder management", "alignment", "cross-functional collaboration"),
        (
            "Senior people outside my team keep overriding our decisions at the last minute.",
            "I find it really hard to keep sales, legal and engineering on the same page.",
            "I'm always surprised by objections when a project is nearly finished.",
        ),
        (
            "keep powerful people informed and on side",
            "stop getting blindsided late in a project",
        ),
        (
            "stakeholder mapping and cross-functional alignment",
            "managing up and navigating executive politics",
        ),
    ),
    # ---------------------------------------------------------------- design
    _t(
        "ux_design",
        "design",
        ("UX design", "interaction design", "figma", "portfolio"),
        (
            "The case studies I send out aren't getting me any interviews.",
            "Developers keep changing my screens and the result looks nothing like what I intended.",
            "I can make things look pretty but I struggle to explain why my solution is the right one.",
        ),
        (
            "show how I think, not just polished pictures",
            "defend my choices with evidence when engineers push back",
        ),
        (
            "interaction design and design critique",
            "portfolio reviews for product designers",
            "design-to-engineering handoff",
        ),
    ),
    _t(
        "design_systems",
        "design",
        ("design systems", "component libraries"),
        ("Every team builds its own buttons and our product looks like a patchwork quilt.",),
        (
            "get different squads reusing the same building blocks",
            "make a product built by twenty teams look like one product",
        ),
        (
            "design systems governance and component libraries",
            "visual consistency at scale and design tokens",
        ),
        0.4,
    ),
    _t(
        "accessibility",
        "design",
        ("accessibility", "WCAG", "inclusive design"),
        (
            "A customer who uses a screen reader told us our product is unusable.",
            "I honestly don't know what we need to do for people with disabilities.",
        ),
        (
            "make what we build work for everyone",
            "understand the legal and practical bar we should be meeting",
        ),
        (
            "accessibility audits against WCAG and assistive technology",
            "inclusive design practice for digital products",
        ),
        0.5,
    ),
    _t(
        "content_design",
        "design",
        ("UX writing", "content design", "copywriting"),
        (
            "Users misread the labels and error messages in our app all the time.",
            "Our help pages generate more tickets than they prevent.",
        ),
        ("find words in the product that guide people instead of confusing them",),
        (
            "content design and UX copy",
            "voice and tone guidelines and microcopy that reduces support load",
        ),
        0.4,
    ),
    # ---------------------------------------------------------------- commercial
    _t(
        "enterprise_sales",
        "commercial",
        ("enterprise sales", "closing", "pipeline management"),
        (
            "My deals drag on for months and then go dark.",
            "I lose big opportunities at the last stage when procurement gets involved.",
            "My quarter always comes down to hoping a couple of signatures arrive in time.",
        ),
        (
            "get large customers over the line",
            "forecast my quarter without guessing",
        ),
        (
            "complex B2B deal cycles and closing strategy",
            "MEDDIC qualification and enterprise account planning",
            "multi-threading buying committees in seven-figure sales",
        ),
    ),
    _t(
        "prospecting",
        "commercial",
        ("prospecting", "cold outreach", "lead generation"),
        (
            "Hardly anyone answers my emails to people I haven't met.",
            "I hate picking up the phone to strangers who don't know me.",
        ),
        (
            "book more first meetings",
            "feel less awkward reaching out to people out of the blue",
        ),
        (
            "outbound prospecting and multi-touch sequences",
            "building top-of-funnel pipeline through calls and social selling",
        ),
        0.6,
    ),
    _t(
        "account_management",
        "commercial",
        ("customer success", "account management", "renewals", "churn"),
        (
            "Two of my biggest clients didn't renew and I didn't see it coming.",
            "Angry customers ruin my week and I never know how to calm them down.",
        ),
        (
            "keep clients around for years",
            "grow what current clients spend with us rather than only chasing new logos",
        ),
        (
            "customer success, renewals and churn prevention",
            "handling escalations and expanding existing accounts",
            "quarterly business reviews and customer health scoring",
        ),
    ),
    _t(
        "brand_marketing",
        "commercial",
        ("brand strategy", "content marketing", "campaigns"),
        (
            "Our launches look great but I can't prove they did anything for revenue.",
            "I'm expected to come up with a fresh story for how we describe the company and I have no idea how.",
        ),
        (
            "tell a consistent story about who we are",
            "show the commercial value of what my team puts out",
        ),
        (
            "brand positioning and integrated campaigns",
            "content strategy and marketing attribution",
        ),
        0.6,
    ),
    _t(
        "growth_marketing",
        "commercial",
        ("growth", "SEO", "performance marketing", "funnels"),
        (
            "Our ad spend keeps rising while sign-ups stay flat.",
            "People visit our site and leave without doing anything and I don't know why.",
        ),
        ("find cheaper ways to bring in new users",),
        (
            "performance marketing, SEO and funnel optimisation",
            "lifecycle messaging and acquisition economics",
        ),
        0.5,
    ),
    # ---------------------------------------------------------------- finance and operations
    _t(
        "budgeting",
        "finance_ops",
        ("budgeting", "forecasting", "FP&A"),
        (
            "I was just handed money to look after for the first time and I'm terrified of overspending.",
            "My spending projections are always way off by the end of the quarter.",
        ),
        (
            "plan next year's spending with confidence",
            "explain to the finance team why we went over without sweating",
        ),
        (
            "financial planning and analysis (FP&A)",
            "budget ownership, forecasting and variance analysis",
        ),
        0.6,
    ),
    _t(
        "business_finance",
        "finance_ops",
        ("financial literacy", "P&L", "unit economics"),
        (
            "Meetings about margins and cash flow go straight over my head.",
            "People ask me for the business case behind my project and I don't know how to build one.",
        ),
        (
            "understand how the money side of the company works",
            "speak the language the CFO speaks",
        ),
        (
            "P&L management and unit economics",
            "coaching non-finance leaders on reading financial statements",
            "investment cases, ROI models and capital allocation",
        ),
        0.7,
    ),
    _t(
        "procurement",
        "finance_ops",
        ("procurement", "vendor management", "sourcing"),
        (
            "Our suppliers keep missing deadlines and I have no leverage over them.",
            "We're locked into expensive deals with companies that under-deliver.",
        ),
        ("get better terms from the companies we buy from",),
        (
            "strategic sourcing and vendor management",
            "supplier negotiations and contract lifecycle management",
        ),
        0.4,
    ),
    _t(
        "process_improvement",
        "finance_ops",
        ("lean", "process improvement", "operations"),
        (
            "Our team does the same manual work over and over and it slows everything down.",
            "Handovers between our teams keep dropping the ball.",
        ),
        (
            "make our daily work less wasteful",
            "fix the broken handoffs for good",
        ),
        (
            "lean operations and continuous improvement (Six Sigma black belt)",
            "process mapping and operational excellence",
            "automation of back-office workflows",
        ),
        0.6,
    ),
    _t(
        "project_delivery",
        "finance_ops",
        ("project management", "agile", "delivery"),
        (
            "My projects always finish late and bigger than we planned.",
            "I lose track of who's doing what once more than a few teams are involved.",
        ),
        (
            "land things on the dates I promise",
            "run an initiative that spans several teams without chaos",
        ),
        (
            "programme management and agile delivery",
            "risk registers, dependency management and scrum facilitation",
            "PMP-certified delivery leadership on large transformations",
        ),
    ),
    # ---------------------------------------------------------------- people / HR
    _t(
        "recruiting",
        "people",
        ("recruiting", "interviewing", "hiring"),
        (
            "I keep bringing on people who look great on paper and then struggle.",
            "Our candidates drop out halfway through the process.",
        ),
        (
            "pick the right people for my team",
            "run conversations with applicants that actually tell me something",
        ),
        (
            "talent acquisition and structured interviewing",
            "employer branding and candidate experience",
        ),
        0.7,
    ),
    _t(
        "performance_reviews",
        "people",
        ("performance management", "compensation", "calibration"),
        (
            "Review season is coming and I have to tell someone they're underperforming.",
            "I have no idea how pay decisions are made here.",
        ),
        (
            "write fair, honest evaluations of my reports",
            "handle the money conversation with my reports calmly",
        ),
        (
            "performance management cycles and calibration",
            "compensation frameworks and reward conversations",
        ),
        0.6,
    ),
    _t(
        "employee_relations",
        "people",
        ("employee relations", "conflict resolution", "mediation"),
        (
            "Two people on my team can't stand each other and it's poisoning the mood.",
            "A disagreement with a colleague has dragged on for months and I don't know how to end it.",
        ),
        ("step in when colleagues clash without taking sides",),
        (
            "workplace mediation and conflict resolution",
            "employee relations casework",
        ),
        0.6,
    ),
    _t(
        "inclusion",
        "people",
        ("diversity and inclusion", "DEI", "employee resource groups"),
        (
            "I'm the only woman on my team and I often feel invisible in meetings.",
            "Our new hires all look the same every year and I don't know where to start changing that.",
        ),
        (
            "make everyone on my team feel they belong",
            "start a support circle for colleagues that outlasts its founders",
        ),
        (
            "inclusion strategy and equitable practices",
            "allyship, employee resource groups and bias-aware processes",
        ),
        0.6,
    ),
    # ---------------------------------------------------------------- leadership
    _t(
        "first_time_manager",
        "leadership",
        ("people management", "leadership", "one-on-ones"),
        (
            "I was promoted over the colleagues I used to sit next to, and now my friends report to me.",
            "I still do all the hands-on work myself because I don't trust anyone else with it.",
            "I got my first direct reports last month and I feel like I'm making it up as I go.",
        ),
        (
            "make the jump from doing the work to looking after the people who do it",
            "run weekly catch-ups with my reports that are worth their time",
        ),
        (
            "frontline leadership and growing new managers",
            "1:1s, team rituals and the IC-to-lead transition",
        ),
        1.6,
    ),
    _t(
        "managing_managers",
        "leadership",
        ("org design", "leadership", "scaling teams"),
        (
            "My department doubled in a year and I no longer know what's happening on the ground.",
            "I now have leads reporting to me and I don't know how to coach them.",
        ),
        (
            "steer a group through other leads rather than directly",
            "keep the culture intact while we grow fast",
        ),
        (
            "organisational design and scaling engineering orgs",
            "coaching managers-of-managers and leadership team health",
        ),
        0.7,
    ),
    _t(
        "difficult_conversations",
        "leadership",
        ("feedback", "difficult conversations", "coaching"),
        (
            "I avoid telling people when their work isn't good enough.",
            "When someone gets upset in a meeting with me I cave immediately.",
        ),
        (
            "say the uncomfortable thing kindly and clearly",
            "stop dodging tough talks with my reports",
        ),
        (
            "radical candour and feedback frameworks",
            "coaching leaders through emotionally charged discussions",
        ),
        1.2,
    ),
    _t(
        "delegation",
        "leadership",
        ("delegation", "time management", "prioritisation"),
        (
            "I work sixty-hour weeks because everything lands on my desk.",
            "I can't let go of tasks even when others could clearly do them.",
        ),
        (
            "hand things off without everything falling apart",
            "get my evenings back",
        ),
        (
            "delegation and leverage for senior ICs and leads",
            "productivity systems and ruthless prioritisation",
        ),
        0.9,
    ),
    _t(
        "change_leadership",
        "leadership",
        ("change management", "transformation", "reorganisation"),
        (
            "We're in the middle of a reorg and my team is anxious and losing trust.",
            "People resist every new tool or process we roll out.",
        ),
        (
            "bring people along through big shifts",
            "keep morale up when the ground keeps moving",
        ),
        (
            "change management and organisational transformation",
            "leading teams through restructuring, M&A and uncertainty",
        ),
        0.7,
    ),
    _t(
        "executive_presence",
        "leadership",
        ("executive presence", "strategy", "influence"),
        (
            "In rooms with directors I come across as junior even when I know the subject best.",
            "My ideas only get picked up when someone higher up repeats them.",
        ),
        (
            "be taken seriously by the top floor",
            "think and talk about the business at a higher altitude",
        ),
        (
            "executive presence and gravitas in senior forums",
            "strategic thinking and board-level communication",
        ),
        0.9,
    ),
    # ---------------------------------------------------------------- career
    _t(
        "career_change",
        "career",
        ("career transition", "career planning"),
        (
            "I've been in accounting for eight years and I want out, but I don't know into what.",
            "I'm curious about product work but I have no idea if I'd be any good at it.",
            "I feel stuck in a role I chose straight out of university.",
        ),
        (
            "switch to a completely different line of work",
            "test whether another path suits me before jumping",
        ),
        (
            "career pivots, having switched disciplines twice",
            "mapping transferable strengths onto new functions",
            "internal mobility and lateral moves",
        ),
        1.4,
    ),
    _t(
        "promotion",
        "career",
        ("career growth", "promotion", "career development"),
        (
            "I've been at the same level for three years and keep hearing 'next cycle'.",
            "I don't understand what's expected of me to move up.",
        ),
        (
            "get to the next level this year",
            "build a case that makes my advancement obvious",
        ),
        (
            "career ladders, calibration committees and promotion packets",
            "sponsorship and growth planning for senior ICs",
        ),
        1.4,
    ),
    _t(
        "returning_from_leave",
        "career",
        ("return to work", "parental leave", "career break"),
        (
            "I'm coming back after a year at home with my baby and feel completely out of the loop.",
            "After months off for my health, I'm nervous about picking up where I left off.",
            "My kids are finally in school and I'm re-entering the workforce after five years at home.",
        ),
        (
            "ease back in without losing my confidence",
            "juggle family and a demanding job",
        ),
        (
            "re-entry following career breaks, having done it twice",
            "returnship programmes and working-parent transitions",
            "flexible working arrangements and phased returns",
        ),
        0.8,
    ),
    _t(
        "burnout",
        "career",
        ("wellbeing", "work-life balance", "resilience"),
        (
            "I'm exhausted all the time and dread Monday mornings.",
            "I can't switch off; I answer messages until midnight.",
        ),
        (
            "set limits on my workday without feeling guilty",
            "find a pace I can keep up for years",
        ),
        (
            "resilience, boundaries and sustainable performance",
            "recovering from burnout and redesigning a workload",
        ),
        0.9,
    ),
    _t(
        "confidence",
        "career",
        ("confidence", "imposter syndrome", "self-advocacy"),
        (
            "I constantly feel like everyone will find out I don't belong here.",
            "I downplay my achievements and then resent not being recognised.",
        ),
        (
            "trust that I earned my place",
            "talk about my wins without cringing",
        ),
        (
            "self-advocacy and building professional confidence",
            "coaching on imposter feelings and inner-critic work",
        ),
        1.2,
    ),
    _t(
        "networking",
        "career",
        ("networking", "personal brand", "visibility"),
        (
            "Nobody outside my immediate team knows what I do.",
            "I find company socials and meetups draining and awkward.",
        ),
        (
            "grow my circle of contacts across the company",
            "get my work noticed by the right people",
        ),
        (
            "internal networking and personal branding",
            "building sponsors and cross-org relationships",
        ),
        0.9,
    ),
    # ---------------------------------------------------------------- communication
    _t(
        "public_speaking",
        "communication",
        ("public speaking", "presentations", "storytelling"),
        (
            "I freeze up when I have to present, even in small meetings.",
            "My hands shake and my voice goes quiet as soon as everyone looks at me.",
            "I dread the quarterly all-hands update I'm supposed to give.",
        ),
        (
            "stop freezing when all eyes are on me",
            "get through a talk at a conference without clinging to a script",
            "sound calm in front of a crowd",
        ),
        (
            "stage presence and keynote delivery",
            "coaching speakers for conferences and town halls",
            "narrative structure and vocal delivery",
            "improv-based techniques for audience nerves",
        ),
        1.3,
    ),
    _t(
        "negotiation",
        "communication",
        ("negotiation", "salary negotiation", "influencing"),
        (
            "I accepted my last offer without asking for more and I still regret it.",
            "I give in too quickly when a client pushes back on price.",
        ),
        (
            "ask for what I'm worth",
            "hold firm when the other side leans on me",
        ),
        (
            "negotiation strategy: BATNA, anchoring and concessions",
            "coaching people through compensation and contract bargaining",
        ),
        1.0,
    ),
    _t(
        "writing",
        "communication",
        ("writing", "documentation", "technical writing"),
        (
            "My emails are long and people miss the key point.",
            "Design docs take me weeks and reviewers still say they're unclear.",
        ),
        (
            "get my point across in fewer words",
            "produce documents people actually finish reading",
        ),
        (
            "clear business and technical prose, edited for busy readers",
            "structured memos, RFCs and six-page narratives",
            "editing and plain-language style",
        ),
        0.8,
    ),
    _t(
        "influence",
        "communication",
        ("influencing", "persuasion", "stakeholder buy-in"),
        (
            "I have good ideas but I can't get other teams to act on them.",
            "Without a fancy title nobody listens to me.",
        ),
        ("win support for proposals from people who don't report to me",),
        (
            "influencing without authority and coalition-building",
            "persuasion techniques and cross-team buy-in",
        ),
        0.9,
    ),
    _t(
        "facilitation",
        "communication",
        ("facilitation", "workshops", "meeting design"),
        (
            "My meetings run over and end without decisions.",
            "The same two people dominate every session I run.",
        ),
        ("run sessions where everyone contributes and we leave with clear next steps",),
        (
            "workshop facilitation and meeting design",
            "liberating structures and decision-making formats",
        ),
        0.6,
    ),
    _t(
        "cross_cultural",
        "communication",
        ("cross-cultural communication", "global teams", "remote teams"),
        (
            "My team spans four countries and misunderstandings happen every week.",
            "I'm new to this country and the unwritten rules at work confuse me.",
        ),
        (
            "work smoothly with colleagues from very different backgrounds",
            "keep a spread-out team feeling like one group",
        ),
        (
            "leading global, distributed teams across cultures",
            "intercultural competence and remote collaboration",
        ),
        0.7,
    ),
    # ---------------------------------------------------------------- legal and compliance
    _t(
        "privacy_compliance",
        "legal",
        ("GDPR", "privacy", "compliance"),
        (
            "I'm launching something that tracks what customers do and I'm worried about regulators.",
            "Our external review is next month and our records are a mess.",
        ),
        (
            "handle personal information responsibly",
            "get through an audit without drama",
        ),
        (
            "data protection law (GDPR, CCPA) and privacy by design",
            "regulatory compliance programmes and inspection readiness",
        ),
        0.5,
    ),
    _t(
        "contracts",
        "legal",
        ("contracts", "commercial law", "legal"),
        (
            "I sign off on agreements I only half understand.",
            "The small print in our partner deals keeps coming back to bite us.",
        ),
        ("spot the clauses that could hurt us before it's too late",),
        (
            "commercial contracting and term negotiation",
            "legal risk assessment for business teams",
        ),
        0.4,
    ),
)
"""All topics, in a fixed order: a topic's index is its id in the latent model."""

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(t.family for t in TOPICS))
TOPIC_INDEX: dict[str, int] = {t.key: i for i, t in enumerate(TOPICS)}
