"""Unit tests of apigateway.vtl (and vtl_parser): the VTL subset our mapping templates use, what it
evaluates and what it refuses."""

from __future__ import annotations

import pytest

from embedded_stack.apigateway.vtl import Inputs, VtlError, render

# The shape of the CORS template modules/api deploys (one directive per line).
ECHO = "\n".join(
    [
        "#set($origin = $input.params('origin'))",
        '#if($origin == "")',
        "#set($origin = $input.params('Origin'))",
        "#end",
        '#set($allowed = ["https://a.example","https://b.example"])',
        '#set($match = "")',
        "#foreach($candidate in $allowed)",
        "#if($candidate == $origin)",
        "#set($match = $candidate)",
        "#end",
        "#end",
        '#if($match != "")',
        "#set($context.responseOverride.header.Access-Control-Allow-Origin = $match)",
        "#end",
    ]
)


@pytest.mark.parametrize("origin", ["https://a.example", "https://b.example"])
def test_echo_template_sets_the_allowed_origin_once_and_renders_nothing(origin):
    result = render(ECHO, Inputs(headers={"Origin": origin}))
    assert result.header_overrides == {"Access-Control-Allow-Origin": origin}
    assert result.body == ""
    assert result.status_override is None


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "https://evil.example"}, {"Origin": "https://a.example.evil"}, {"Origin": ""}],
)
def test_echo_template_ignores_other_or_missing_origins(headers):
    assert render(ECHO, Inputs(headers=headers)).header_overrides == {}


def test_params_look_in_path_then_query_then_headers_case_insensitively():
    template = "$input.params('x')|$input.params('y')|$input.params('Z')|$input.params('none')|"
    inputs = Inputs(path={"x": "p"}, query={"x": "q", "y": "q"}, headers={"x": "h", "y": "h", "z": "h"})
    assert render(template, inputs).body == "p|q|h||"


def test_references_conditions_and_strings():
    template = (
        "$missing $!missing ${name} '$name' \"$context.requestId\"\n"
        "#if(!$missing && ($name == 'n' || false))A#elseif($name)B#{else}C#end\n"
        '#set($joined = "${name}-$stageVariables.env $name-")\n'
        "    #set($n = 3)\n"
        "$joined $n #foreach($i in [1, 'two', true])[$i]#end $list"
    )
    inputs = Inputs(context={"requestId": "r-1"}, stage_variables={"env": "dev"})
    body = render("#set($name = 'n')\n#set($list = [1, 'a'])\n" + template, inputs).body
    # Velocity 1.7 identifiers may contain '-': "$name-" is the (undefined) reference name-.
    assert body == "$missing  n 'n' \"r-1\"\nA\nn-dev $name- 3 [1][two][true] [1, a]"


def test_comparison_across_types_uses_text_and_null_equals_only_null():
    assert render("#if(1 == '1')y#end#if($a == '')n#end#if($a == $b)z#end", Inputs()).body == "yz"


def test_status_override_and_comments():
    template = "## a comment line\n#* block\ncomment *#\n#set($context.responseOverride.status = 418)\nbody"
    result = render(template, Inputs())
    assert (result.status_override, result.body) == (418, "body")


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("#macro(m)x#end", "unsupported directive #macro"),
        ("#parse('x.vm')", "unsupported directive #parse"),
        ("$util.escapeJavaScript('x')", "unsupported reference"),
        ("$input.json('$')", "only $input.params"),
        ("$input.body", "only $input.params"),
        ("$name.length()", "unsupported property or method"),
        ("#if($a)x", "#if without #end"),
        ("#end", "#end without an open"),
        ("#set($x = 1 + 2)", "expected ')'"),
        ("#set($context.requestOverride.header.X = 'v')", "unsupported #set target"),
        ("#foreach($x in 'abc')$x#end", "not a list"),
        (
            "#set($context.responseOverride.header.A = 'x')\n#set($context.responseOverride.header.a = 'y')",
            "twice",
        ),
        ("#set($context.responseOverride.status = 'teapot')", "not a number"),
    ],
)
def test_unsupported_or_invalid_templates_raise(template, fragment):
    with pytest.raises(VtlError, match=None) as info:
        render(template, Inputs())
    assert fragment in str(info.value)


def test_literal_hash_and_dollar_are_text():
    assert render('{"price": "$5", "tag": "# 1"}', Inputs()).body == '{"price": "$5", "tag": "# 1"}'
