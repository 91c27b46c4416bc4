"""Hand-written sentence fragments for the TRAINING/VALIDATION corpus of the signal miner.

Never used to build the test set (that uses ``fragments_test.py``, written separately with
different wording). Placeholders: ``{S}`` the other person as subject (she / he / a name /
"my mentor"), ``{O}`` as object, ``{P}`` possessive. Most fragments avoid the label's obvious
keyword on purpose (time_constraints without "time"/"busy", poor_match without "match" …).
"""

from __future__ import annotations

LABELLED: dict[str, list[str]] = {
    "poor_match": [
        "Honestly {S} works in a completely different world from mine, so the advice rarely lands.",
        "{S} comes from finance and I'm trying to grow as a designer, there isn't much overlap.",
        "We don't really click, conversations feel forced.",
        "I'm not sure {S} is the right person to guide me on a move into product.",
        "Our styles just don't mesh; {S} wants structure and I want to riff.",
        "{P} background is all sales, which isn't where I want to go.",
        "The pairing feels off, we're on different wavelengths.",
        "Every suggestion {S} makes assumes I'm going into management, which I'm not.",
        "I think someone from engineering would suit me better than {O}.",
        "There's no real rapport between us yet, and I doubt there will be.",
        "{S} keeps steering me toward things that don't fit what I'm after.",
        "I came for help with data science and {S} has never worked in that space.",
        "We have very little in common professionally.",
        "{S} is lovely but we're just not a good fit.",
        "Feels like we were paired at random.",
        "I'd prefer a mentor who has actually done the job I'm aiming for.",
        "The chemistry isn't there and both of us can feel it.",
        "{P} experience is in a totally unrelated field so it's hard to apply anything.",
        "I'm a senior engineer and {S} is pitching advice at a graduate level.",
        "Our personalities grate on each other a bit.",
        "{S} seems more suited to someone early in their career.",
        "I don't think {S} understands the kind of role I'm in.",
        "Sessions feel awkward and stilted every single time.",
        "Requesting a new pairing, this one isn't working for either of us.",
        "Mentee has asked to be re-paired with someone closer to their specialism.",
        "The pair seem poorly suited; the mentor's expertise is outside the mentee's area.",
        "{S} wants to talk about leadership, I need hands-on technical guidance.",
        "We're chalk and cheese.",
        "I leave every session feeling like we spoke different languages.",
        "{S} has no idea how research teams work, so the tips miss the mark.",
        "not convinced we're right for each other tbh",
        "We clash on almost everything, it's draining.",
        "{P} advice is generic because {S} doesn't know my field at all.",
        "I feel {S} would be better off mentoring someone in ops.",
        "Not the right pairing in my view, would like to swap.",
        "The gap in seniority makes it hard for {O} to relate to what I do.",
        "{S} and I just see things very differently.",
        "We lack common ground.",
        "Mentor feels the mentee's goals sit outside anything they can help with.",
        "I dread the awkward silences, we never find our rhythm.",
        "It's a mismatch, plain and simple.",
        "I don't think the match works.",
    ],
    "low_commitment": [
        "{S} cancelled again, third week in a row.",
        "{S} turned up without having looked at anything we agreed.",
        "Half our sessions have been called off at the last minute.",
        "{S} didn't show and didn't let me know.",
        "{S} seems checked out, just going through the motions.",
        "Sessions keep getting dropped from {P} side.",
        "{S} hasn't done any of the actions from last month.",
        "I'm putting in far more effort than {S} is.",
        "{S} keeps rescheduling and then not turning up.",
        "Was on {P} phone for most of the hour.",
        "{S} joined fifteen minutes late and left early.",
        "Hard to get {O} to engage with anything between meetings.",
        "{S} treats this like a box-ticking exercise.",
        "Mentee missed two sessions without explanation.",
        "The mentor has not attended the last three meetings.",
        "I get the sense {S} signed up for the wrong reasons and has lost interest.",
        "{S} bailed on our call again this morning.",
        "No prep from {P} side, ever.",
        "Homework I set was ignored, again.",
        "{S} only comes when I chase and even then seems distracted.",
        "Another no-show today.",
        "{S} doesn't seem to care much about these meetings.",
        "Attendance has been patchy at best.",
        "{S} ghosted our last catch-up.",
        "{S} promised to bring a draft and came empty-handed for the third time.",
        "Feels one-sided, I'm the only one doing the work.",
        "{S} asked to push our session twice and then skipped the rebooked one.",
        "I'm not sure {S} is invested in this at all.",
        "{S} showed up but clearly wasn't present, answering emails the whole time.",
        "we've met once in two months because {S} keeps pulling out",
        "Lukewarm participation from {O} so far.",
        "{S} forgets our sessions unless I remind {O} the day before.",
        "Enthusiasm has really dropped off on {P} end.",
        "Mentor reports the mentee rarely follows through on agreed actions.",
        "{S} keeps saying next week and next week never comes.",
        "{S} rocked up late again and hadn't read my notes.",
        "Low commitment from {O}, to be honest.",
        "{S} half-heartedly skims the material if at all.",
        "Two of the last four meetings were dropped by {O} with no reason given.",
        "I've stopped expecting {O} to turn up.",
    ],
    "time_constraints": [
        "I'm completely swamped with the release and couldn't prepare.",
        "Quarter-end has eaten my calendar, we had to push twice.",
        "Finding a slot that works for both of us is nearly impossible.",
        "{S} is travelling constantly, so we keep moving our calls.",
        "My workload has doubled since the reorg and this has slipped.",
        "We only managed twenty minutes before {S} had to jump into another meeting.",
        "Between on-call and the launch I have zero headroom.",
        "Our calendars never line up, {S} is eight hours ahead.",
        "I've been pulled onto an urgent project and can barely breathe.",
        "{S} is stretched thin with hiring right now.",
        "It's peak season for us so sessions have been squeezed.",
        "I'm snowed under until the audit is done.",
        "We keep getting bumped by {P} back-to-back meetings.",
        "Everything is on fire at work, I can't give this the attention it needs.",
        "{S} is juggling two roles at the moment.",
        "The new shift pattern means we're rarely free at the same hour.",
        "Too busy to meet this month.",
        "I just don't have the time at the moment.",
        "My diary is wall-to-wall until March.",
        "{S} said {P} schedule is packed with the product launch.",
        "We had to cut the session short because of a deadline.",
        "Overtime on the migration means our meetings keep slipping.",
        "Mentee is overloaded with exam prep and asked to pause for a few weeks.",
        "Both of us are flat out with year-end planning.",
        "Our sessions keep getting squeezed out by client work.",
        "I've had childcare issues and can't do evenings anymore.",
        "The time zones make it really hard to meet.",
        "{S} is covering for a colleague on leave and is drowning.",
        "Hard to carve out an hour with everything going on.",
        "Work pressure has pushed mentoring to the bottom of the list for both of us.",
        "Coordinator note: the pair report they cannot find a regular slot.",
        "I keep having to postpone because of firefighting on my team.",
        "{S} has a huge backlog and asked to meet every other month instead.",
        "It's been hectic, we've rescheduled three times.",
        "I've been working weekends and something had to give.",
        "With the deadline crunch we squeezed in a ten minute call.",
        "{S} is in meetings from 8 till 6 most days.",
        "my bandwidth is basically nil right now",
        "We're struggling to fit sessions in around the busy season.",
        "Our call got cut to fifteen minutes, {S} was double-booked.",
    ],
    "communication_breakdown": [
        "{S} hasn't replied to my last three messages.",
        "I've emailed twice about rescheduling and heard nothing back.",
        "Getting hold of {O} is really difficult.",
        "We keep misunderstanding each other in sessions.",
        "{S} goes quiet for weeks and then reappears.",
        "My messages just sit there unanswered.",
        "I'm never sure whether {S} has seen what I send.",
        "{S} talks over me and I can't get a word in.",
        "It takes {O} about a week to respond to anything.",
        "We agreed on one thing and {S} remembered something completely different.",
        "{S} doesn't listen, just waits for {P} turn to speak.",
        "I've tried Slack, email and a calendar invite with no response.",
        "Radio silence since our last meeting.",
        "There's a lot of talking past each other.",
        "{S} left me on read.",
        "Mentee says the mentor is hard to reach between sessions.",
        "The mentor reports messages to the mentee go unanswered.",
        "I never know where I stand with {O}, {S} doesn't say much.",
        "Conversations keep going sideways because we interpret things differently.",
        "{S} only answers with one word, it's like pulling teeth.",
        "I sent the draft a fortnight ago and still nothing.",
        "{S} cut me off whenever I tried to explain.",
        "Messages go into a black hole.",
        "We had a big misunderstanding about what the next step was.",
        "I've chased {O} repeatedly with no luck.",
        "{S} never gets back to me.",
        "hard to reach {O}, replies are super slow",
        "There's a real disconnect in how we talk to each other.",
        "{S} ignored my follow-up completely.",
        "I can't tell what {S} means half the time, {P} messages are so cryptic.",
        "{S} didn't answer my question, changed the subject instead.",
        "Our emails cross and nobody picks up the thread.",
        "The dialogue has broken down.",
        "Communication between us has been poor.",
        "I pinged {O} on Teams four times and got nothing.",
        "{S} dismisses what I say before I've finished.",
        "Lots of crossed wires lately.",
        "{S} is unresponsive outside the sessions.",
        "I was left guessing whether our meeting was still on because {S} went silent.",
    ],
    "fear_of_feedback": [
        "I get really nervous before showing {O} my work.",
        "{S} gets defensive the moment I suggest anything could be better.",
        "I hold back drafts because I'm worried about what {S} will say.",
        "{S} shuts down whenever I point out a gap.",
        "I'm scared of looking stupid in front of {O}.",
        "{S} seems upset by even gentle suggestions.",
        "I dread {P} comments on my writing.",
        "I tend to hide my mistakes in our sessions.",
        "{S} avoids sharing anything until it's perfect.",
        "Every time I give notes on {P} deck {S} goes quiet and changes the topic.",
        "I freeze up when {S} critiques my code.",
        "I'm anxious about asking for input in case it confirms I'm not good enough.",
        "{S} took my suggestions very personally last week.",
        "The mentee is reluctant to bring real work to sessions for fear of criticism.",
        "Mentor notes the mentee becomes tearful when receiving constructive comments.",
        "I brace myself before every review with {O}.",
        "{S} won't show me drafts, only finished pieces.",
        "I tend to nod along rather than admit I'm struggling.",
        "{S} bristles at anything that sounds like criticism.",
        "I'm apprehensive about hearing what {S} really thinks of my presentation.",
        "I keep my questions to myself so I don't seem incompetent.",
        "{S} argues back whenever I point something out, so I've stopped.",
        "I feel judged when I share unfinished work.",
        "{S} gets flustered when I ask how it went.",
        "Part of me doesn't want to hear the honest verdict.",
        "I worry {S} will think less of me if I show the real numbers.",
        "{S} keeps apologising and seems terrified of getting anything wrong.",
        "I'm nervous about feedback from {O}.",
        "i get so tense when {S} reviews my stuff",
        "{S} heard one critical point and shut down for the rest of the call.",
        "I'm hesitant to ask for a candid assessment.",
        "{S} wants praise only, any correction lands badly.",
        "I've been avoiding sending {O} my draft because I'm embarrassed by it.",
        "{S} gets prickly whenever we go through what didn't work.",
        "I'm too intimidated to ask {O} to look at my portfolio.",
        "{S} takes suggestions as attacks.",
        "I find it hard to hear where I fell short.",
        "The mentee seems afraid of being judged.",
    ],
    "unclear_goals": [
        "We're not really sure what we're working toward.",
        "Sessions wander from topic to topic without landing anywhere.",
        "I don't know what I want out of this yet.",
        "{S} hasn't said what {S} hopes to get from the programme.",
        "We never set any objectives at the start.",
        "It feels like we're chatting rather than working on something specific.",
        "I'm struggling to see the point of our meetings.",
        "There's no plan, we just show up and see what happens.",
        "We spend the hour catching up and nothing comes of it.",
        "{S} keeps changing what {S} wants to focus on.",
        "I'm not sure what success would look like for us.",
        "Our meetings lack direction.",
        "We've drifted; I can't say what we've been aiming for.",
        "{S} can't articulate what {S} wants help with.",
        "No agreed outcomes after three sessions.",
        "The purpose of the pairing is fuzzy to both of us.",
        "Mentee is unsure what to work on with the mentor.",
        "The pair have not agreed what they want from the programme.",
        "We talk a lot but I'm not sure where it's going.",
        "{S} turned up with no agenda again, so we just chatted.",
        "Lots of nice conversations, zero sense of where we're headed.",
        "I don't know what I'm supposed to be getting from this.",
        "The scope of what we're doing keeps shifting.",
        "It's pleasant but aimless.",
        "We haven't pinned down anything concrete to work on.",
        "I find myself wondering what we're actually doing here.",
        "unclear goals, we need to sit down and define them",
        "The sessions are a bit shapeless.",
        "{S} wants to cover everything, which means we cover nothing.",
        "I can't tell if we're focusing on promotion, skills or something else.",
        "Without something to aim for we keep going in circles.",
        "Our objectives are vague.",
        "We haven't worked out what the mentoring is for.",
        "{S} asked me what I wanted and I honestly didn't know.",
        "Each meeting starts from scratch with no thread between them.",
        "Still no clarity on what we're trying to achieve.",
        "Neither of us set expectations at the start and it shows.",
    ],
    "boundary_concern": [
        "{S} repeated something I'd told {O} privately to my manager.",
        "{S} made a comment about my appearance that made me uncomfortable.",
        "{S} asked me out for drinks, just the two of us, and kept insisting.",
        "I found out {S} shared details of our sessions with my team.",
        "{S} is now my line manager, which feels like a conflict.",
        "{S} sits on my promotion panel, so I can't be open with {O}.",
        "{S} suggested I pass client data to {O} to help with {P} side project.",
        "{S} keeps texting me late at night about non-work things.",
        "{S} told me to get around the expense policy.",
        "I heard {S} gossiping about my situation with colleagues.",
        "{S} tried to recruit me into {P} own startup during our session.",
        "{S} made jokes about my accent that felt discriminatory.",
        "{S} asked for my password so {S} could look at my dashboards.",
        "{S} mentioned my health issues in a team meeting.",
        "The mentee reports the mentor made sexual remarks.",
        "Mentor disclosed that they evaluate the mentee in their performance review.",
        "{S} shouted at me during our call.",
        "{S} wants me to invest in {P} business.",
        "I'm uncomfortable, {S} touched my arm repeatedly and stood too close.",
        "{S} forwarded my private email to the wider group.",
        "{S} shared insider information about the acquisition.",
        "{S} pressured me to sign off on something that breaks our compliance rules.",
        "I think {S} might be assessing my work for the restructure, which seems wrong.",
        "{S} asked very personal questions about my relationship.",
        "{S} belittled me in front of others after our session.",
        "{S} asked me to keep a mistake off the record from audit.",
        "What I said in confidence ended up with HR without my consent.",
        "{S} is married to my director and I only just found out.",
        "{S} followed me on my private social accounts and comments on my photos.",
        "{S} offered me a gift in exchange for a referral.",
        "i think {S} told my boss about my job interviews",
        "{S} said something inappropriate about my weight.",
        "{S} copied my manager into an email about what we discussed in session.",
        "{S} invited me to {P} hotel room to 'go over the slides'.",
        "{S} hinted that I should favour {P} vendor in the tender.",
        "{S} has been making remarks about my religion.",
        "{S} is on the hiring panel for the job I applied to.",
        "Coordinator: mentee raised that the mentor shared their salary with peers.",
        "The mentor is the mentee's skip-level manager and reviews their rating.",
        "{S} was drunk at our evening session and said things I didn't like.",
        "{S} wants me to fudge the numbers in my report.",
        "{S} called me sweetheart and keeps commenting on how I dress.",
        "{S} pushed me to share customer records outside the approved system.",
    ],
    "positive_progress": [
        "Really productive session, I left with three concrete next steps.",
        "{S} has grown so much in confidence since we started.",
        "I finally landed the stakeholder presentation we rehearsed.",
        "Our meetings are the highlight of my month.",
        "{S} gave me brilliant advice on negotiating my scope.",
        "I got the promotion!",
        "We've found a great rhythm.",
        "Things are going really well.",
        "{S} shipped the project we planned together.",
        "I can already see the difference in how I run meetings.",
        "Great chat today, very energising.",
        "{S} is making real strides with public speaking.",
        "The sessions have been genuinely valuable.",
        "I feel much more confident leading the team now.",
        "{S} took my suggestions on board and it paid off.",
        "Loving this pairing so far.",
        "We hit the milestone we set last month.",
        "{S} helped me see my career options much more clearly.",
        "Mentee reports the sessions are helpful and they feel supported.",
        "Both report a strong working relationship and clear wins.",
        "So grateful for {P} support.",
        "{S} delivered the talk and got great comments from leadership.",
        "This has been one of the most useful things I've done this year.",
        "I'm seeing steady improvement in my stakeholder management.",
        "{S} has really stepped up and is leading the workstream now.",
        "A turning point, I feel unblocked for the first time in months.",
        "Excellent progress this quarter.",
        "It's going great, no complaints.",
        "{S} challenged me in exactly the right way.",
        "We celebrated {P} first solo release today.",
        "I look forward to every session.",
        "I applied what we discussed and my manager noticed straight away.",
        "{S} is a fantastic sounding board.",
        "Really pleased with how things are developing.",
        "sessions r great, learning loads",
        "{S} now writes design docs that need far fewer revisions.",
        "Big win this week: the proposal was approved.",
        "Mentor says the mentee has made clear headway on the goals they set.",
        "I feel like a different engineer compared to six months ago.",
        "Our conversations always leave me motivated.",
    ],
}

NEUTRAL: list[str] = [
    "We met on Tuesday for an hour.",
    "Our next session is booked for the 14th.",
    "We went over my draft CV.",
    "Met in the cafe near the office this time.",
    "Quick check-in this week.",
    "We'll meet again after the holidays.",
    "{S} recommended a book on systems thinking.",
    "We covered stakeholder mapping and the upcoming reorg.",
    "Session three done.",
    "Had our monthly call.",
    "We talked through my plans for next year.",
    "Nothing much to report.",
    "Call was on video as {S} was working from home.",
    "We looked at a couple of job descriptions together.",
    "Next time we'll focus on presentation skills.",
    "I shared the article {S} mentioned with my team.",
    "Usual catch-up.",
    "Met for lunch.",
    "We spent most of the hour on my portfolio.",
    "{S} is on leave next week so we'll skip to the week after.",
    "We swapped notes on the conference.",
    "Second session of the programme.",
    "We started with a recap of last month.",
    "Coordinator check-in completed with both parties.",
    "The pair met twice this month.",
    "Mentee submitted their mid-point survey.",
    "No issues raised.",
    "We discussed my upcoming performance review.",
    "Checked in with both, all fine.",
    "{S} asked about my team's roadmap.",
    "we walked through the interview process at {P} old company",
    "Talked about the new office move.",
    "We reviewed my OKRs for next quarter.",
    "{S} told me about {P} first year as a manager.",
    "Standard session, notes in the shared doc.",
    "I'll send the slides over before next time.",
    "Agenda for next week: delegation.",
]

NEGATED: list[str] = [
    "We haven't missed a single session.",
    "{S} has never cancelled on me.",
    "No problems getting hold of {O}, {S} replies within the hour.",
    "I'm not worried about showing {O} my work anymore.",
    "Never felt uncomfortable with {O}.",
    "We don't have any issues finding a slot.",
    "{S} always turns up prepared.",
    "Not once has {S} been late.",
    "It doesn't feel awkward at all.",
    "There's no confusion about what we're working on.",
    "{S} hasn't been too stretched to meet.",
    "I don't feel judged when I share drafts.",
    "Nothing inappropriate has ever happened.",
    "We've never struggled to communicate.",
    "{S} never ignores my messages.",
    "I wouldn't say the pairing is a poor fit.",
    "No concerns about confidentiality, {S} keeps everything between us.",
    "Not short of direction, we know exactly what we're aiming for.",
    "{S} isn't defensive at all when I give notes.",
    "Neither of us has dropped a meeting.",
    "We're never rushed.",
    "{S} doesn't seem overloaded.",
    "I have no trouble reaching {O}.",
    "There hasn't been a single no-show.",
    "Not a single missed session so far.",
    "I've never felt {S} was the wrong person for me.",
    "No conflicts of interest that I know of.",
    "We've not had to push any sessions back.",
    "I don't dread our meetings at all.",
    "{S} hasn't gone quiet on me once.",
]

HYPOTHETICAL: list[str] = [
    "If we ever ran out of time I'd just send {O} a quick summary.",
    "If {S} ever shared something I said, I'd tell the coordinator straight away.",
    "Should things get hectic next quarter we might move to fortnightly.",
    "If I felt nervous about showing drafts I'd say so.",
    "In case {S} can't make it, we agreed to move to Thursday.",
    "If we lose focus we'll revisit the plan.",
    "What if we don't click? We agreed to be honest with each other.",
    "If {S} stopped replying I'd raise it, but that hasn't happened.",
    "Unless something urgent comes up we'll keep the same slot.",
    "If the pairing doesn't work out we know we can ask for a change.",
    "If either of us is swamped we'll just shorten the session.",
    "Supposing I get the new role, we'd need to rethink the schedule.",
    "If anything ever made me uncomfortable I know who to talk to.",
    "Were we to miss a session, we'd catch up by email.",
]

OFF_TOPIC: list[str] = [
    "We discussed the time pressure on {P} current project.",
    "We talked about how to handle a colleague who never replies to emails.",
    "{S} gave me tips on dealing with a manager who is always too busy for 1:1s.",
    "We worked on how to give difficult feedback to my direct reports.",
    "We role-played a conversation with a stakeholder who keeps cancelling.",
    "We explored why my team's goals are unclear after the reorg.",
    "We discussed confidentiality rules for the new client account.",
    "{S} shared strategies for managing a heavy workload.",
    "We went over how to deal with a poor fit between a new hire and their team.",
    "We talked through how I could push back on unrealistic deadlines.",
    "We looked at how {P} team handles communication breakdowns with vendors.",
    "Spent the session on how to run a retro when people are afraid to speak up.",
    "We prepared for my talk with a direct report who keeps missing standups.",
    "We brainstormed ways to get my stakeholders to respond faster.",
    "{S} helped me think through a conflict of interest in my team's procurement process.",
    "We discussed how my team copes with crunch periods.",
    "We talked about the compliance training everyone has to do.",
    "We practised how I'd respond if someone made an inappropriate comment in a meeting.",
]

CONTRAST: list[tuple[str, list[str]]] = [
    ("It was a bit awkward at first, but we've really found our feet now.", ["positive_progress"]),
    ("Although we're both swamped, we always make the session happen.", ["positive_progress"]),
    ("{S} used to reply slowly, but that's sorted now.", []),
    (
        "Early on I was nervous about sharing drafts, but now I bring everything.",
        ["positive_progress"],
    ),
    ("Even though {P} calendar is packed, {S} never skips our call.", []),
    (
        "We struggled to agree a focus initially; these days we're really clear.",
        ["positive_progress"],
    ),
    ("The sessions are useful, but {S} keeps cancelling.", ["positive_progress", "low_commitment"]),
    ("{S} is lovely, but {S} never answers my messages.", ["communication_breakdown"]),
    ("Despite the deadline chaos, we've kept every meeting.", []),
    ("We had a rocky start, but things have turned a corner.", ["positive_progress"]),
    (
        "{S} gives great advice, however {S} shared something I said in private with my boss.",
        ["positive_progress", "boundary_concern"],
    ),
    (
        "I was worried we weren't a good pairing at the start, but we get on brilliantly now.",
        ["positive_progress"],
    ),
    ("Initially {S} was hard to reach; now {S} gets back to me the same day.", []),
    ("Work is mad right now, but we still protect our hour.", []),
]

OPENERS: dict[str, list[str]] = {
    "mentee": [
        "Quick update:",
        "Check-in note.",
        "Month two.",
        "Hi,",
        "Feedback for this month:",
        "Some thoughts after our latest session.",
        "Honest update.",
        "",
    ],
    "mentor": [
        "Mentor check-in.",
        "Update from my side:",
        "Notes from this month.",
        "Brief note:",
        "Reflecting on the last few weeks:",
        "",
    ],
    "coordinator": [
        "Coordinator check-in call.",
        "Spoke to the pair today.",
        "Mid-programme review:",
        "Follow-up with the pairing.",
        "Note for file:",
    ],
}

CLOSERS: list[str] = [
    "Will update next month.",
    "Thanks!",
    "Happy to discuss.",
    "That's all for now.",
    "Let me know if you need more.",
    "Cheers.",
    "More next time.",
]

NAMES: list[tuple[str, str]] = [
    ("Priya", "f"),
    ("Tom", "m"),
    ("Aisha", "f"),
    ("Lukas", "m"),
    ("Mei", "f"),
    ("Carlos", "m"),
    ("Fatima", "f"),
    ("Ben", "m"),
    ("Sofia", "f"),
    ("Kwame", "m"),
    ("Hannah", "f"),
    ("Raj", "m"),
]

# Slot templates: "(a|b|c)" picks one alternative at random. They widen the vocabulary each
# label is seen with (many ways to say "overloaded", "didn't reply", …) so the classifier
# learns the words, not a few memorised sentences. Train split only.
TEMPLATES: dict[str, list[str]] = {
    "poor_match": [
        "(I don't think|I'm not convinced|I doubt) {S} (is the right person|is the right fit|"
        "suits me|gets what I need) (for what I'm trying to do|for my situation|as a guide|).",
        "(Our|The) (backgrounds|careers|fields|specialisms|worlds|paths) are (too|really|"
        "completely|very) (different|far apart|unrelated|disconnected) (to be useful|for this to "
        "work|to get much out of it|).",
        "{S} (knows|understands|has done) (nothing|very little|almost nothing) (about|of|in) "
        "(my area|my field|the work I do|my discipline|my kind of role|product|research|ops).",
        "(We|The two of us) (don't|never|just don't) (gel|connect|hit it off|get on|see eye to "
        "eye|find common ground|warm up).",
        "(It|The pairing|This pairing|The match) (feels|seems|looks) (wrong|off|mismatched|like "
        "a bad fit|ill-suited|like a poor pairing|unsuitable) (for me|for both of us|to me|).",
        "(I'd|I would) (rather|prefer to|like to) (be paired with|switch to|move to|have) "
        "(someone|a mentor|somebody) (from my own field|who knows my area|closer to my role|"
        "with more relevant experience|who understands engineering).",
        "(His|Her|{P}) (advice|guidance|suggestions|examples|stories) (don't|doesn't|rarely|"
        "never) (apply|translate|fit|relate) to (my|what I|the kind of) (work|role|job|do).",
        "(Conversations|Sessions|Our chats) (feel|are) (stilted|forced|awkward|strained|flat|"
        "uncomfortable|heavy going) (and|because) we (have|share) (little|nothing|no) "
        "(in common|common ground).",
        "(Requesting|Asking for|Would like) a (different|new|better suited) (mentor|mentee|"
        "pairing|partner).",
    ],
    "low_commitment": [
        "{S} (cancelled|called off|pulled out of|skipped|dropped|bailed on|missed|didn't "
        "attend) (our|the|another|yet another) (session|meeting|call|catch-up) (again|"
        "at the last minute|with no notice|this week|).",
        "{S} (didn't|did not|never) (show up|turn up|appear|join|log on|make it) (to our "
        "session|today|last week|again|) (and|but) (didn't|never) (let me know|explain|say why|"
        "apologise).",
        "{S} (came|arrived|turned up|showed up) (unprepared|without doing the reading|with "
        "nothing|empty-handed|having done none of the actions|without the draft) (again|"
        "as usual|every time|).",
        "{S} (seems|appears|looks) (disengaged|distracted|half-hearted|uninterested|"
        "checked out|not bothered|lukewarm|switched off|indifferent) (in our sessions|about "
        "the programme|lately|these days|).",
        "(I'm|I am) (doing|putting in) (all|most|far more) of the (work|effort|legwork|chasing|"
        "preparation) (and|while) {S} (does|puts in) (nothing|very little|the bare minimum).",
        "{S} (was|kept) (on {P} phone|checking emails|typing on {P} laptop|answering Slack|"
        "looking at another screen) (the whole time|for most of the call|throughout).",
        "(The agreed|Our|The) (actions|tasks|next steps|exercises|reading) (from last time|we "
        "set|{S} promised|) (haven't been touched|were ignored|weren't done|never happened).",
        "(Attendance|Engagement|Participation|Follow-through) (from {O}|on {P} side|) has been "
        "(poor|patchy|sporadic|minimal|inconsistent|dismal).",
        "{S} (only|just|barely) (turns up|engages|replies) when I (chase|remind {O}|nag|push).",
    ],
    "time_constraints": [
        "(I'm|I am|{S} is|We're|We are|We're both) (completely|totally|really|so|absolutely|) "
        "(swamped|slammed|snowed under|overloaded|flat out|maxed out|stretched|underwater|"
        "overstretched|drowning in work) (with|by|because of) (the release|quarter-end|the "
        "launch|the audit|year-end|the migration|hiring|a reorg|client work|exams|the project).",
        "(We|I) (had to|needed to|keep having to) (push|move|postpone|shorten|cut short|"
        "reschedule|rearrange|drop) (our|the) (session|call|meeting|catch-up) (because of|due to|"
        "thanks to) (a deadline|the launch|an outage|travel|back-to-back meetings|a clash|"
        "firefighting|an urgent request).",
        "(Finding|Getting|Booking|Locking in) (a slot|an hour|a window|a gap|a regular time|"
        "a shared slot) (in our calendars|that works for both of us|in {P} diary|) (is|has "
        "been|feels) (nearly impossible|really hard|a struggle|tricky|a nightmare).",
        "(My|{P}|Our) (calendar|diary|schedule|workload|week) (is|has been|looks) (packed|"
        "rammed|wall-to-wall|chock-a-block|crazy|brutal|relentless|overflowing) (right now|"
        "this month|until the launch|lately|).",
        "(With|Between|Because of) (the deadline|on-call|the launch|travel|the merger|"
        "childcare|night shifts|the time difference|peak season) (I|we|{S}) (can't|couldn't|"
        "can barely|struggle to) (find|make|carve out|protect|spare) (an hour|a slot|the "
        "space|any headroom|the bandwidth) (for this|for mentoring|for our sessions|).",
        "(Work|The day job|Everything else|The backlog) (keeps|has been) (eating into|"
        "crowding out|squeezing|swallowing|taking over) (our sessions|the mentoring|my "
        "calendar|the hour we set aside).",
        "(We|I) (only|barely|just) (managed|got|had) (ten|fifteen|twenty) minutes before "
        "(I|{S}) had to (rush off|jump to another meeting|leave|take a call|get back to work).",
        "(I'm|{S} is) (juggling|covering|running) (two roles|three projects|a colleague's "
        "work|too much|the whole team's workload) (at the moment|right now|this quarter|).",
    ],
    "communication_breakdown": [
        "{S} (hasn't|has not|never) (replied|responded|answered|got back to me|acknowledged "
        "anything) (to my|since my|after my) (messages|emails|last note|texts|Slack messages|"
        "invite|follow-up).",
        "(I've|I have) (emailed|messaged|pinged|texted|chased|called|nudged) {O} "
        "(twice|three times|repeatedly|several times|all week) (and|but) (heard nothing|got no "
        "reply|got nothing back|no luck|silence).",
        "(It's|It is) (really|very|so|) (hard|difficult|impossible|a struggle) to (reach|"
        "get hold of|contact|pin down|hear from) {O} (between sessions|by email|at all|lately|).",
        "(We|{S} and I) (keep|tend to|often|constantly) (misunderstand|misread|talk past|"
        "misinterpret|miss) each other.",
        "{S} (interrupts|talks over|cuts off|dismisses|ignores|doesn't listen to) me "
        "(whenever|when|every time|as soon as) I (try to|start to|want to) (speak|explain|"
        "raise something|ask a question).",
        "(There's|There is|We have) (a lot of|constant|some|real|a) (confusion|crossed wires|"
        "miscommunication|mixed messages|misunderstanding|disconnect) (between us|in how we "
        "talk|about next steps|after each session).",
        "(My|Our) (messages|emails|notes|questions|follow-ups) (go|went|keep going|sit) "
        "(unanswered|unread|ignored|nowhere|into a void|without a response).",
        "{S} (goes|went|has gone) (quiet|silent|dark|missing|off the radar|AWOL) (for weeks|"
        "again|after our last meeting|between sessions|).",
    ],
    "fear_of_feedback": [
        "(I'm|I am|I feel|I get) (nervous|anxious|scared|afraid|worried|uneasy|apprehensive|"
        "terrified|jittery) (about|of|before) (showing {O} my work|sharing drafts|hearing {P} "
        "view|what {S} will say|{P} comments|being critiqued|getting notes).",
        "{S} (gets|becomes|turns|seems) (defensive|upset|prickly|touchy|hurt|withdrawn|"
        "flustered|tearful|quiet) (when|whenever|every time|as soon as) I (suggest|point out|"
        "mention|raise|comment on) (anything|something|an improvement|a problem|a gap|a "
        "weakness) (in {P} work|about {P} draft|).",
        "(I|{S}) (hold|holds|held|keep|keeps) back (drafts|work|questions|mistakes|half-"
        "finished things) (because|for fear|since) (I'm|{S} is|of) (afraid|scared|worried|"
        "embarrassed|being judged|looking incompetent|criticism).",
        "(I|{S}) (avoid|avoids|dodge|dodges|sidestep|sidesteps) (asking for|hearing|getting|"
        "any) (critique|comments|input|notes|an honest opinion|criticism|a review).",
        "(Any|Even gentle|The slightest|Constructive) (criticism|suggestion|comment|critique|"
        "correction|pushback) (lands badly|upsets {O}|feels like an attack to {O}|makes {O} "
        "shut down|throws {O}).",
        "(I|I tend to) (freeze|panic|go blank|clam up|tense up|get flustered) when {S} "
        "(reviews|looks at|critiques|comments on|goes through) my (work|code|writing|slides|"
        "analysis).",
    ],
    "unclear_goals": [
        "(We|I|The two of us) (still|honestly|really) (don't know|can't say|haven't worked "
        "out|aren't sure|have no idea) what (we're|I'm|we are) (working towards|trying to "
        "achieve|aiming for|meant to get out of this|here for).",
        "(Our|The) (sessions|meetings|conversations|chats|calls) (lack|have no|are missing) "
        "(direction|focus|purpose|structure|a clear aim|an agenda|any thread).",
        "(We|I) (never|still haven't|didn't) (set|agreed|defined|pinned down|wrote down|"
        "settled on) (any|clear|concrete|specific|proper) (objectives|aims|targets|outcomes|"
        "priorities|things to work on).",
        "(Each|Every) (session|meeting|call) (wanders|drifts|meanders|jumps) (from topic to "
        "topic|all over the place|around|off track) (without|with no) (landing anywhere|"
        "real outcome|end point|conclusion).",
        "{S} (can't|couldn't|doesn't|struggles to) (say|articulate|explain|decide) what "
        "(she|he|{S}) (wants|needs|hopes to get) (from|out of) (the programme|our sessions|"
        "mentoring|this).",
        "(It's|It feels|This is) (pleasant|friendly|nice|fine) but (aimless|pointless|"
        "directionless|unfocused|going nowhere|shapeless|vague).",
        "(I'm|I am) (not sure|unsure|unclear|confused about) (what|why) we (meet|are meeting|"
        "are doing this|should be covering|should focus on).",
    ],
    "boundary_concern": [
        "{S} (told|shared with|passed on to|repeated to|mentioned to) (my manager|my boss|"
        "my team|colleagues|my director|people in my department|HR) (something|what|things) "
        "I (said|shared|told {O}) (in private|in confidence|privately|in our sessions).",
        "{S} (made|keeps making) (comments|remarks|jokes) about my (appearance|body|weight|"
        "looks|age|accent|religion|clothes|relationship) (that|which) (made me uncomfortable|"
        "crossed a line|felt inappropriate|felt wrong).",
        "{S} (asked|pressured|pushed|encouraged|told) me to (share|send|pass on|export) "
        "(client data|customer records|confidential files|my password|my login|internal "
        "numbers) (to {O}|outside the approved systems|for {P} side project).",
        "{S} (is|has become|will be|is now) (my line manager|my manager|on my promotion panel|"
        "my reviewer|responsible for my rating|deciding my bonus) (which|and that) (feels "
        "like a conflict|is a conflict of interest|makes this awkward to be open).",
        "{S} (keeps|kept|has been) (messaging|texting|calling|contacting) me (late at night|"
        "at midnight|at weekends|on my personal phone) (about|with) (personal|non-work|"
        "private) (things|questions|stuff).",
        "{S} (tried to|wants to|asked me to) (sell me|get me to invest in|recruit me for|"
        "hire me into|involve me in) (his|her|{P}) (startup|business|side company|firm|"
        "consultancy).",
        "{S} (asked|invited) me (out|to dinner alone|for drinks alone|back to {P} place|to "
        "{P} hotel) (and|then) (wouldn't take no|kept insisting|made it weird|got too close).",
        "{S} (suggested|hinted|implied) (I|we) (bend|ignore|get around|work around|skip) "
        "(the rules|the policy|compliance|the audit|the procurement process|the approval).",
    ],
    "positive_progress": [
        "(Really|Very|Super|Incredibly|Such a) (productive|useful|valuable|helpful|good|"
        "rewarding|energising|insightful) (session|meeting|call|month|few weeks|chat).",
        "{S} (has grown|has improved|has developed|is growing|is thriving|has come on|has "
        "blossomed) (so much|a lot|hugely|enormously|massively|loads) (in confidence|as a "
        "leader|in {P} role|since we started|this quarter|).",
        "(I|{S}) (got|landed|won|secured|nailed|delivered|shipped|passed) (the promotion|"
        "the new role|the presentation|the interview|the project|the certification|the "
        "stretch assignment) (we prepared for|we worked on|we planned|) (!|.)",
        "(I|I really|I honestly) (feel|am feeling) (much|far|a lot|so much) (more confident|"
        "more capable|clearer|better prepared|more focused|more assertive) (than before|"
        "now|at work|in meetings|).",
        "(Things|It|The mentoring|This pairing|Everything) (is|are|has been) (going|working "
        "out) (really|very|incredibly|super|) (well|great|brilliantly|smoothly).",
        "(We|I) (hit|reached|achieved|completed|ticked off) (the|our|my) (milestone|goal|"
        "target|first objective|plan) (we set|we agreed|) (last month|early|this week|ahead "
        "of schedule|).",
        "(I'm|I am|We're) (so|really|very|hugely) (grateful|thankful|pleased|happy|chuffed) "
        "(with|for|about) (the support|how it's going|{P} help|the progress|the advice).",
        "(The|{P}) (advice|guidance|tips|suggestions|coaching) (on|about|around) "
        "(delegation|negotiating|presenting|stakeholders|prioritising) (really helped|"
        "paid off|made a real difference|worked).",
    ],
}

NEGATED_TEMPLATES: list[str] = [
    "{S} (has never|hasn't once|never) (cancelled|missed a session|been late|skipped a "
    "meeting|failed to reply|ignored a message).",
    "(We|I) (haven't|have not|never) (missed|dropped|had to move|cancelled) (a single|any|"
    "one) (session|meeting|call).",
    "(No|There are no|There's no|Zero) (problems|issues|trouble|difficulty) (reaching {O}|"
    "finding a slot|with the fit|with how we communicate|with focus|so far).",
    "(I'm|I am|I feel) (not|never) (nervous|worried|judged|uncomfortable|lost|overloaded) "
    "(about|with|in) (our sessions|showing {O} my work|the pairing|the plan).",
    "(It|The pairing|The mentoring) (doesn't|does not|never) feel (awkward|aimless|forced|"
    "rushed|one-sided|like a bad fit).",
    "(Nothing|Nobody|No one) (inappropriate|uncomfortable|concerning|worrying) has "
    "(happened|come up|been said).",
]

# Second batch of slot templates, written for the labels that generalised worst in validation.
TEMPLATES_EXTRA: dict[str, list[str]] = {
    "communication_breakdown": [
        "(Still|Yet again|Once more|) (no|zero|not a) (reply|response|answer|word|peep|"
        "reaction) (from {O}|to my last email|to my questions|after two weeks|since Monday).",
        "{S} (rarely|hardly ever|seldom|never really) (replies|responds|writes back|gets back "
        "to me|returns my calls|answers) (in between sessions|on Slack|by email|at all|).",
        "(We|{S} and I) (had|keep having|ran into) (a|another|the same) (mix-up|misunderstanding|"
        "crossed wires|muddle) (about|over) (the date|what to prepare|next steps|who was "
        "booking the room|the plan).",
        "(I|I honestly) (can't|cannot|never) (tell|work out|figure out|get a read on) what {S} "
        "(means|wants|thinks|is saying) (in {P} messages|during our calls|).",
        "(Talking to|Getting through to|Having a real conversation with) {O} (is|feels) "
        "(hard work|like talking to a wall|exhausting|one-way|impossible).",
        "{S} (brushes off|waves away|shuts down|ignores|sidesteps) (my questions|what I say|"
        "my points|anything I raise).",
        "(Nobody|Neither of us) (follows up|replies|closes the loop|picks up the thread) "
        "(after|between) (sessions|our calls|meetings).",
    ],
    "low_commitment": [
        "{S} (stood me up|no-showed|flaked|went missing|dropped out) (again|twice|last week|"
        "for the second time|this month).",
        "(We've|We have) (only|barely) (met|had) (once|one session|two sessions) (in|over) "
        "(two months|the last quarter|since the kickoff|six weeks) (because|as) {S} (keeps|"
        "kept) (pulling out|cancelling|not showing|rescheduling).",
        "{S} (logs in|joins|turns up|arrives) (late|twenty minutes late|half an hour late) "
        "(and|then) (leaves early|seems elsewhere|multitasks|doesn't engage).",
        "(Interest|Energy|Motivation|Drive) (on {P} side|from {O}|) (has|seems to have) "
        "(faded|fizzled out|dropped off|dried up|disappeared).",
        "{S} (never|doesn't|won't) (reads|read|looks at|look at|opens|open) (anything|what) I "
        "(send|share|prepare) (beforehand|ahead of time|in advance|).",
        "(It|This) (feels|seems) (like a tick-box exercise|one-sided|like I care more than {S} "
        "does|like {S} is just going through the motions) (for {O}|to me|).",
    ],
    "poor_match": [
        "(I'm|I am) (not|hardly) (getting|learning) (much|anything|a lot) from {O} "
        "(because|since|as) (we work in|{P} experience is in|{S} comes from) (very different|"
        "unrelated|other) (areas|fields|functions|industries).",
        "{S} (has|had) (never|not) (worked|been) in (a role like mine|my field|a lab|product|"
        "engineering|a regulated industry|research) so (the advice|the tips|it) (doesn't|"
        "rarely|never) (land|help|carry over).",
        "(Personality-wise|Style-wise|Temperamentally|Professionally) we (are|seem) (a poor "
        "combination|oil and water|badly paired|at odds|worlds apart).",
        "(I'd|I would) (like|love|prefer) to (be re-paired|swap mentors|switch|try someone "
        "else|move to another mentor).",
        "{S} (is|seems) (much|far|way) (too|more) (junior|senior|specialised|generalist) "
        "(for what I need|to relate to my situation|for me).",
    ],
    "time_constraints": [
        "(We|I) (had to|have had to|agreed to) (pause|put the sessions on hold|skip this "
        "month|go monthly|meet less often) (until|while|because) (the peak is over|the "
        "launch is out|things calm down|year-end is done|the deadline passes).",
        "(An outage|A fire drill|An urgent escalation|Board prep|An incident|A client "
        "emergency) (ate|took|swallowed|wiped out) (our|the) (session|slot|hour|call).",
        "(We're|We are|{S} is|I'm) (in|on) (different continents|opposite shifts|night "
        "shifts|a twelve hour time difference) so (overlap is|meeting is|slots are) "
        "(tiny|rare|hard to find|limited).",
        "(I've|I have|{S} has) been (working|putting in) (late nights|weekends|twelve-hour "
        "days|long hours|extra shifts) (and|so) (mentoring|our sessions|this) (slipped|"
        "got dropped|fell off|took a back seat).",
    ],
    "boundary_concern": [
        "{S} (asked for|wanted|requested) my (login|password|credentials|access|security "
        "token|badge) (to|so {S} could) (check something|look at my files|save time|get "
        "into the system).",
        "{S} (offered|gave|promised) me (a gift|tickets|a voucher|a favour|a job|money|"
        "a bonus) (if|in return for|so that) I (helped|recommended|put in a word for|"
        "supported) ({P} supplier|{P} vendor|{P} friend|{P} bid|{O}).",
        "{S} (invited|asked) me (back to|round to|up to) ({P} flat|{P} house|{P} apartment|"
        "{P} place|{P} room) (after|instead of) (the session|our meeting|drinks).",
        "{S} (will be|is going to be|is) (grading|assessing|scoring|ranking|deciding) (my "
        "grade|my promotion case|my performance|my bonus|my level) (this cycle|next month|).",
        "{S} (spoke|talked|gossiped|joked) about (my|our) (private|personal|confidential) "
        "(situation|conversations|sessions|problems) (with|in front of|to) (others|the team|"
        "my colleagues|people in my department).",
        "{S} (shouted|swore|yelled) at me (when|because|after) I (disagreed|pushed back|"
        "made a mistake|asked a question).",
    ],
}

# Neutral logistics in many words, so everyday vocabulary carries no signal on its own.
NEUTRAL_TEMPLATES: list[str] = [
    "(We|I) (met|caught up|spoke|had a call|got together) (on|last|this) (Monday|Tuesday|"
    "Wednesday|Thursday|Friday|week|morning|afternoon) (over video|in person|at the office|"
    "for coffee|by phone|).",
    "(Next|Our next|The next) (session|meeting|call|catch-up) (is|will be) (on|in|after) "
    "(the 3rd|two weeks|the holidays|the offsite|Friday|early June).",
    "(Topics|Agenda|Themes|Areas covered|We covered): (networking|presenting|career "
    "planning|delegation|stakeholders|my CV|the reorg|budgeting|hiring) and (writing|"
    "visibility|influencing|time off|training|the conference|reviews).",
    "(Nothing|Not much|Little|Nothing else) (new|much|in particular|major) to (report|add|"
    "flag|say|mention) (this time|this month|for now|).",
    "{S} (suggested|recommended|mentioned|sent me) (a book|an article|a course|a podcast|a "
    "talk|a template|a framework) (on|about) (negotiation|leadership|writing|product "
    "strategy|systems design|careers).",
    "(I'll|I will|{S} will|We'll) (send|share|circulate|write up|bring) (the notes|my "
    "slides|a summary|the doc|an outline) (before|after|ahead of) (next time|the next "
    "session|Friday|our call).",
    "(Speak soon|Talk soon|More soon|Until next time|All the best|Kind regards|Best|Ta).",
    "(Here's|This is|Below is|Quick) (my|the|a short) (update|summary|note|recap).",
    "{S} (described|explained|walked me through|told me about) (how {P} team works|"
    "{P} career so far|the org chart|{P} first manager role|a past project).",
    "(Session|Meeting|Call) (number|no.) (two|three|four|five|six) (done|completed|in the "
    "books|held).",
]
