from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms.public import Bootstrapped
from crm.limits import ARTICLE_MAX_LENGTH as MAX_BODY_LENGTH
from crm.models import Article, ArticleCategory, ArticleStatus


class ArticleForm(Bootstrapped, forms.ModelForm):
    """Validates an article; `crm.services.knowledge` saves it."""

    body = forms.CharField(
        label=_("Body (Markdown)"),
        max_length=MAX_BODY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 18, "class": "font-monospace"}),
    )
    new_category = forms.CharField(label=_("or a new category"), max_length=100, required=False)

    class Meta:
        model = Article
        fields = ["title", "slug", "category", "summary", "body", "status"]
        help_texts = {"slug": _("The end of the article's address; made from the title if empty.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["category"].queryset = ArticleCategory.objects.all()
        self.fields["status"].choices = ArticleStatus.choices

    def _post_clean(self):
        # The service validates the model (uniqueness, constraints) and reports back.
        pass

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}

    def add_service_errors(self, error) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class ArticleSearchForm(Bootstrapped, forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=ArticleCategory.objects.all(), required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any")), *ArticleStatus.choices], required=False
    )
