"""Wording of messages: counted nouns, name previews, spoken lists."""

from vpsbench.messages import count, names_preview, spoken_list


def test_count_takes_the_singular_for_one():
    assert count(1, "problem") == "1 problem"
    assert count(0, "problem") == "0 problems"
    assert count(3, "video") == "3 videos"


def test_names_preview_says_how_many_more():
    assert names_preview(["a", "b"]) == "a, b"
    assert names_preview(list("abcdefg"), limit=3) == "a, b, c and 4 more"


def test_spoken_list_joins_the_last_with_and():
    assert spoken_list([]) == ""
    assert spoken_list([2]) == "2"
    assert spoken_list([2, 4]) == "2 and 4"
    assert spoken_list([2, 4, 6]) == "2, 4 and 6"
